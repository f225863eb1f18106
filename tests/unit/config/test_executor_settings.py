"""The `executor` element: defaults, paths relative to the file, validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.executor import resolve
from crosscheck.model.config import ExecutorSettings

from .helpers import errors, load


def test_defaults_without_an_executor_element(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = load(tmp_path, "")
    assert result.config is not None
    assert result.config.executor == ExecutorSettings()
    monkeypatch.setenv("CROSSCHECK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CROSSCHECK_CACHE_DIR", str(tmp_path / "cache"))
    resolved = resolve(result.config.executor)
    assert resolved.slots == 2
    assert resolved.logs_root == tmp_path / "state" / "logs"
    assert resolved.work_root == tmp_path / "state" / "work"
    assert resolved.git_cache == tmp_path / "cache" / "git"
    assert resolved.log_retention.days == 30
    assert resolved.keep_failed_workspaces is False
    assert resolved.git_stall_time == 60
    assert resolved.confine == "auto"  # bubblewrap where it works
    assert resolved.disk_limit == 20 << 30


def test_every_setting_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - executor:
            slots: 6
            work_root: work
            logs_root: /srv/crosscheck/logs
            git_cache: ~/git-cache
            keep_failed_workspaces: true
            log_retention_days: 90
            kill_grace: 30
            git_stall_time: 2m
            confine: bubblewrap
            disk_limit: 500M
        """,
    )
    assert result.config is not None, errors(result)
    settings = result.config.executor
    assert settings.slots == 6
    assert settings.work_root == tmp_path / "work"
    assert settings.logs_root == Path("/srv/crosscheck/logs")
    assert settings.git_cache == Path("~/git-cache").expanduser()
    assert settings.keep_failed_workspaces is True
    assert settings.log_retention_days == 90
    assert settings.kill_grace == 30
    assert settings.git_stall_time == 120
    assert settings.confine == "bubblewrap"
    assert settings.disk_limit == 500 << 20


def test_bad_values_are_reported_at_their_place(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - executor:
            slots: 0
            log_retention_days: forever
            keep_failed_workspace: true
            git_stall_time: 0s
            confine: bwrap
        """,
    )
    assert result.config is None
    found = errors(result)
    assert len(found) == 5, found
    assert "'confine' in executor: Input should be 'auto', 'bubblewrap' or 'none'" in found[-1]
    assert found[0].startswith("test.yaml:2:")
    assert "slots" in found[0]
    assert "greater than or equal to 1" in found[0]
    assert found[1].startswith("test.yaml:3:")
    assert "log_retention_days" in found[1]
    assert found[2].startswith("test.yaml:4:")
    assert "did you mean 'keep_failed_workspaces'?" in found[2]
    assert found[3].startswith("test.yaml:5:")
    assert "git_stall_time" in found[3]


def test_the_same_directory_twice_is_refused(tmp_path: Path) -> None:
    result = load(tmp_path, "- executor: {work_root: /srv/ci, logs_root: /srv/ci}\n")
    assert result.config is None
    assert "must be different directories" in errors(result)[0]


def test_a_second_executor_element_is_an_error(tmp_path: Path) -> None:
    result = load(tmp_path, "- executor: {slots: 2}\n- executor: {slots: 3}\n")
    assert result.config is None
    assert errors(result) == [
        "test.yaml:2:3: error: 'executor' is set twice (first at "
        f"{tmp_path / 'test.yaml'}:1:3) — keep one '- executor:' element"
    ]


def test_a_stall_time_beyond_gits_own_limit_is_refused(tmp_path: Path) -> None:
    """git is stopped after 10 minutes whatever the stall time: a longer one would do
    nothing, so it is refused rather than accepted and ignored."""
    result = load(tmp_path, "- executor: {git_stall_time: 11m}\n")
    assert result.config is None
    (found,) = errors(result)
    assert "git_stall_time" in found
    assert "600" in found
    assert load(tmp_path, "- executor: {git_stall_time: 10m}\n").config is not None


@pytest.mark.parametrize(
    ("written", "limit"), [("20G", 20 << 30), ("1 TiB", 1 << 40), ("none", 0), (4096, 4096)]
)
def test_a_disk_limit_is_bytes_or_a_size_with_its_unit(
    tmp_path: Path, written: object, limit: int
) -> None:
    result = load(tmp_path, f"- executor: {{disk_limit: {written}}}\n")
    assert result.config is not None, errors(result)
    assert result.config.executor.disk_limit == limit


def test_a_disk_limit_that_is_no_size_is_an_error_saying_how_to_write_one(
    tmp_path: Path,
) -> None:
    found = errors(load(tmp_path, "- executor: {disk_limit: 20 parsecs}\n"))
    assert found == [
        "test.yaml:1:26: error: 'disk_limit' in executor: '20 parsecs' is not "
        "a size: use bytes, '20G', '500M', '4T', or 'none'"
    ]
