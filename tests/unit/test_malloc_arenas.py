"""serve limits glibc's malloc arenas before its threads start."""

from __future__ import annotations

import ctypes
import platform
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.serve import memory


def test_glibc_takes_the_limit() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.fail(f"this machine's C library is {platform.libc_ver()}, not glibc: say so")
    assert memory.limit_malloc_arenas() is True


def test_a_c_library_without_mallopt_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoMallopt:
        def __init__(self, name: str) -> None:
            self.name = name

        def __getattr__(self, attribute: str) -> object:
            raise AttributeError(attribute)

    monkeypatch.setattr(ctypes, "CDLL", NoMallopt)
    assert memory.limit_malloc_arenas() is False


def test_serve_limits_the_arenas_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from crosscheck.cli import serve as serve_command  # noqa: PLC0415
    from crosscheck.serve import lifecycle  # noqa: PLC0415

    order: list[str] = []

    async def started(options: object) -> None:
        order.append("started")

    monkeypatch.setattr(serve_command, "limit_malloc_arenas", lambda: order.append("limited"))
    monkeypatch.setattr(lifecycle, "serve", started)
    config = tmp_path / "crosscheck.yaml"
    config.write_text("[]\n")
    result = CliRunner().invoke(serve_command.serve, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    assert order == ["limited", "started"]
