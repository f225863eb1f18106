"""A build's work directory goes, whatever modes the build left in it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from crosscheck.executor.local import remove_tree


def test_a_directory_that_cannot_be_opened_is_made_readable_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As serve's user a mode-000 directory cannot be opened (root opens it anyway, so
    the refusal is played here): rmtree reported it through `os.open`, which the
    clean-up then called without its flags, and the tree stayed."""
    work = tmp_path / "work"
    (work / "a" / "hide").mkdir(parents=True)
    (work / "a" / "hide" / "big").write_text("x")
    (work / "ro").mkdir()
    (work / "ro" / "g").write_text("y")
    (work / "ro").chmod(0o500)
    real_open = os.open
    refused: list[str] = []

    def open_once_refused(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if name == "hide" and not refused:
            refused.append(name)
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_once_refused)
    remove_tree(work)
    assert refused == ["hide"]
    assert not work.exists()
