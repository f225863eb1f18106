"""Missing or old tools are reported with the command that installs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.errors import PrerequisiteError
from crosscheck.sandbox.prerequisites import (
    GIT,
    JAVA,
    MAVEN,
    parse_java_major,
    require,
    require_all,
    require_java,
)


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"', 8),
        ("no version here", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def test_a_missing_tool_names_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteError, match=r"`mvn` was not found.*apt-get install maven"):
        require(MAVEN)


def test_all_missing_tools_are_reported_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteError) as caught:
        require_all((JAVA, MAVEN, GIT))
    message = str(caught.value)
    assert "`java`" in message
    assert "`mvn`" in message
    assert "`git`" in message
    assert "apt-get install git maven openjdk-17-jdk-headless" in message


def test_an_old_java_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteError, match=r"Java 11 found.*needs Java 17 or 21"):
        require_java()
