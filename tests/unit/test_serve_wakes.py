"""serve's scheduler runs a pass when an event gave it work, not for every event: most
events (a change's refs, the CI's own comments) enqueue nothing, and a pass is a few
queries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crosscheck.drivers.gerrit.events import parse_line
from crosscheck.serve.wiring import ServeOptions, build_service
from tests.fixtures.gerrit_events import recorded_event, recorded_line
from tests.unit.serve_example import config_with, connection


def configuration(tmp_path: Path) -> Path:
    files = [tmp_path / name for name in ("ci_ed25519", "known_hosts", "password")]
    for path in files:
        path.write_text("something")
    return config_with(tmp_path, connection(*files))


async def test_an_event_that_enqueues_nothing_wakes_no_scheduler_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    database = tmp_path / "crosscheck.db"
    service = await build_service(
        ServeOptions([configuration(tmp_path)], f"sqlite+aiosqlite:///{database}")
    )
    try:
        source, scheduler = service.sources["sandbox"], service.scheduler
        meta = recorded_event("ref-updated")
        meta["refUpdate"]["refName"] = "refs/changes/42/642/meta"  # a review's NoteDb update
        assert await source.submit(parse_line(json.dumps(meta), "sandbox"))
        assert not scheduler._wake.is_set()

        created = parse_line(recorded_line("patchset-created"), "sandbox")
        assert created.project == "sandbox/ci-sandbox"  # the example's project: enqueued
        assert await source.submit(created)
        assert scheduler._wake.is_set()
    finally:
        for client in service.rest.values():
            await client.aclose()
        await service.engine.dispose()
