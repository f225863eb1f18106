"""Reload applies a configuration only when it checks clean."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from crosscheck.config import live as live_module
from crosscheck.config.live import LiveConfig
from crosscheck.errors import ConfigInvalidError
from crosscheck.model.config import Config

from .helpers import BASE, write

GOOD = "- job: {name: a, node: lab, run: [make]}\n- project: {name: p, check: {jobs: [a]}}\n"
BROKEN = "- job: {name: a, node: lab, run: [make], timeout: never}\n"
BIGGER = (
    GOOD + "- job: {name: b, node: lab, run: [make]}\n- project: {name: q, check: {jobs: [b]}}\n"
)


def live(tmp_path: Path, jobs: str = GOOD) -> tuple[LiveConfig, list[Config]]:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": jobs})
    applied: list[Config] = []
    return LiveConfig([tmp_path], on_change=applied.append), applied


def test_a_broken_configuration_keeps_the_running_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder, applied = live(tmp_path)
    before = holder.current
    (tmp_path / "jobs.yaml").write_text(BROKEN)
    result = holder.reload()
    assert not result.ok
    assert holder.current is before
    assert applied == []
    assert "jobs.yaml:1:51: error: 'timeout' in job 'a'" in caplog.text
    assert "keeping the one in use" in caplog.text


def test_a_reload_naming_a_secret_that_does_not_read_keeps_the_running_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As serve's start refuses it: otherwise it shows only at the first use (an
    operator command answered 503, a report that cannot log in)."""
    holder, applied = live(tmp_path)
    before = holder.current
    missing = tmp_path / "missing.token"
    (tmp_path / "ci.yaml").write_text(f"- ci: {{name: ci, admin_token_file: {missing}}}\n")
    with caplog.at_level(logging.ERROR, logger="crosscheck.config.live"):
        result = holder.reload()
    assert result.config is None
    assert holder.current is before
    assert applied == []
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert str(missing) in said
    assert said.endswith(
        "keeping the one in use (once it reads, save the configuration again or send SIGHUP)"
    )
    missing.write_text("a-token\n")
    (tmp_path / "ci.yaml").touch()  # saved again
    assert holder.reload().config is not None
    assert holder.current is not before


def test_a_reload_naming_a_connection_secret_that_does_not_read_keeps_the_running_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection's change waits for a restart, which would then fail: said now."""
    holder, applied = live(tmp_path)
    before = holder.current
    base = (tmp_path / "base.yaml").read_text()
    missing = tmp_path / "missing-password"
    (tmp_path / "base.yaml").write_text(
        base.replace("http_password_env: CI_PASSWORD", f"http_password_file: {missing}")
    )
    with caplog.at_level(logging.ERROR, logger="crosscheck.config.live"):
        assert holder.reload().config is None
    assert holder.current is before
    assert applied == []
    assert any(str(missing) in r.getMessage() for r in caplog.records)


def test_a_fixed_configuration_is_applied(tmp_path: Path) -> None:
    holder, applied = live(tmp_path)
    (tmp_path / "jobs.yaml").write_text(BIGGER)
    assert holder.reload().ok
    assert sorted(holder.current.jobs) == ["a", "b"]
    assert applied == [holder.current]
    assert holder.reloads == 1


def test_subscribers_hear_each_applied_configuration_and_no_broken_one(
    tmp_path: Path,
) -> None:
    holder, _ = live(tmp_path)
    first: list[Config] = []
    second: list[Config] = []
    holder.subscribe(first.append)
    holder.subscribe(second.append)
    (tmp_path / "jobs.yaml").write_text(BROKEN)
    holder.reload()
    (tmp_path / "jobs.yaml").write_text(BIGGER)
    holder.reload()
    assert first == second == [holder.current]


def test_the_first_load_must_be_clean(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": BROKEN})
    with pytest.raises(ConfigInvalidError, match=r"1 error\(s\):\n.*jobs.yaml:1:51"):
        LiveConfig([tmp_path])


def test_an_unchanged_tree_is_not_reloaded(tmp_path: Path) -> None:
    holder, _ = live(tmp_path)
    assert holder.reload_if_changed() is None
    (tmp_path / "more.yaml").write_text("- label: {name: spare}\n")
    result = holder.reload_if_changed()
    assert result is not None
    assert "spare" in holder.current.labels
    assert holder.reload_if_changed() is None
    # Written again as it was, a second later: nothing to reload, nothing logged.
    (tmp_path / "more.yaml").write_text("- label: {name: spare}\n")
    later = time.time() + 1
    os.utime(tmp_path / "more.yaml", (later, later))
    assert holder.reload_if_changed() is None
    assert holder.reloads == 1


def recorder() -> tuple[Callable[[Config], None], list[Config], asyncio.Event]:
    """An `on_change` that keeps each configuration applied and sets an event."""
    applied: list[Config] = []
    changed = asyncio.Event()

    def on_change(config: Config) -> None:
        applied.append(config)
        changed.set()

    return on_change, applied, changed


def live_with_event(tmp_path: Path) -> tuple[LiveConfig, list[Config], asyncio.Event]:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": GOOD})
    on_change, applied, changed = recorder()
    return LiveConfig([tmp_path], on_change=on_change), applied, changed


async def test_watch_notices_an_edit(tmp_path: Path) -> None:
    holder, applied, changed = live_with_event(tmp_path)
    watcher = asyncio.create_task(holder.watch(interval=0.01))
    try:
        (tmp_path / "jobs.yaml").write_text(BIGGER)
        await asyncio.wait_for(changed.wait(), 5)
    finally:
        watcher.cancel()
    assert sorted(applied[0].jobs) == ["a", "b"]


async def test_sighup_reloads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    holder, _, changed = live_with_event(tmp_path)
    loop = asyncio.get_running_loop()
    holder.reload_on_sighup(loop)
    try:
        (tmp_path / "jobs.yaml").write_text(BIGGER)
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.wait_for(changed.wait(), 5)
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
    assert "SIGHUP: reloading the configuration" in caplog.text
    assert sorted(holder.current.jobs) == ["a", "b"]


def test_warnings_are_logged_at_start_as_on_a_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unused = GOOD + "- job: {name: unused, node: lab, run: [make]}\n"
    caplog.set_level(logging.WARNING, logger="crosscheck.config.live")
    live(tmp_path, unused)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("job 'unused' is not run by any project" in m for m in warned), warned


async def test_watch_notices_a_file_replaced_by_a_rename(tmp_path: Path) -> None:
    # Editors save to a scratch file and rename it over the original.
    holder, applied, changed = live_with_event(tmp_path)
    watcher = asyncio.create_task(holder.watch(debounce=0.05))
    try:
        await asyncio.sleep(0.1)  # the watch is set up
        scratch = tmp_path / ".jobs.yaml.swp"
        scratch.write_text(BIGGER)
        scratch.rename(tmp_path / "jobs.yaml")
        await asyncio.wait_for(changed.wait(), 5)
    finally:
        watcher.cancel()
    assert sorted(applied[0].jobs) == ["a", "b"]


async def test_watch_notices_a_file_in_a_new_subdirectory(tmp_path: Path) -> None:
    holder, applied, changed = live_with_event(tmp_path)
    watcher = asyncio.create_task(holder.watch(debounce=0.05))
    try:
        await asyncio.sleep(0.1)
        (tmp_path / "more").mkdir()
        await asyncio.sleep(0.2)  # the new directory is watched once its burst is quiet
        (tmp_path / "more" / "labels.yaml").write_text("- label: {name: spare}\n")
        await asyncio.wait_for(changed.wait(), 5)
    finally:
        watcher.cancel()
    assert "spare" in applied[-1].labels


async def test_watch_ignores_what_the_loader_does_not_read(tmp_path: Path) -> None:
    holder, applied, _ = live_with_event(tmp_path)
    watcher = asyncio.create_task(holder.watch(debounce=0.05))
    try:
        await asyncio.sleep(0.1)
        (tmp_path / "notes.txt").write_text("not configuration\n")
        await asyncio.sleep(0.3)
    finally:
        watcher.cancel()
    assert applied == []
    assert holder.reloads == 0


async def test_watch_follows_a_directory_removed_and_made_again(tmp_path: Path) -> None:
    config = tmp_path / "conf"
    config.mkdir()
    holder, applied, changed = live_with_event(config)
    watcher = asyncio.create_task(holder.watch(debounce=0.05))
    try:
        await asyncio.sleep(0.1)
        shutil.rmtree(config)
        config.mkdir()
        write(config, {"base.yaml": BASE, "jobs.yaml": GOOD})
        await asyncio.sleep(0.3)  # the new directory is watched once its burst is quiet
        changed.clear()
        (config / "jobs.yaml").write_text(BIGGER)  # an edit in the new directory
        await asyncio.wait_for(changed.wait(), 5)
    finally:
        watcher.cancel()
    assert sorted(applied[-1].jobs) == ["a", "b"]


async def test_watch_notices_a_symlinked_file_whose_link_target_is_swapped(
    tmp_path: Path,
) -> None:
    # As a Kubernetes ConfigMap is updated: the file is a link through `..data`, a link
    # to a directory of the new version, swapped in by a rename.
    mount = tmp_path / "mount"
    (mount / "v1").mkdir(parents=True)
    write(mount / "v1", {"base.yaml": BASE, "jobs.yaml": GOOD})
    (mount / "..data").symlink_to("v1")
    for name in ("base.yaml", "jobs.yaml"):
        (mount / name).symlink_to(f"..data/{name}")
    on_change, applied, changed = recorder()
    holder = LiveConfig([mount / "base.yaml", mount / "jobs.yaml"], on_change=on_change)
    watcher = asyncio.create_task(holder.watch(debounce=0.05))
    try:
        await asyncio.sleep(0.1)
        (mount / "v2").mkdir()
        write(mount / "v2", {"base.yaml": BASE, "jobs.yaml": BIGGER})
        (mount / "..data_tmp").symlink_to("v2")
        (mount / "..data_tmp").rename(mount / "..data")
        await asyncio.wait_for(changed.wait(), 5)
    finally:
        watcher.cancel()
    assert sorted(applied[-1].jobs) == ["a", "b"]


async def test_a_busy_neighbour_does_not_put_a_reload_off_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module, "LONGEST_QUIET", 0.5)
    config = tmp_path / "conf"
    config.mkdir()
    holder, applied, changed = live_with_event(config)
    watcher = asyncio.create_task(holder.watch(debounce=0.2))
    try:
        await asyncio.sleep(0.1)
        (config / "jobs.yaml").write_text(BIGGER)
        # A journal beside the configuration, written more often than the debounce.
        for index in range(40):
            (tmp_path / "store.db-journal").write_text(str(index))
            await asyncio.sleep(0.05)
            if changed.is_set():
                break
        assert changed.is_set()  # within the 2 s of writes, not after them
    finally:
        watcher.cancel()
    assert sorted(applied[-1].jobs) == ["a", "b"]
