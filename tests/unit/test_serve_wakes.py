"""serve's scheduler runs a pass when an event gave it work, not for every event: most
events (a change's refs, the CI's own comments) enqueue nothing, and a pass is a few
queries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from crosscheck.drivers.gerrit.events import parse_line
from crosscheck.serve.wiring import ServeOptions, build_service

EXAMPLE = Path(__file__).parents[2] / "examples" / "sandbox-ci"
RECORDED = Path(__file__).parents[1] / "fixtures" / "gerrit-3.10-events.jsonl"


def recorded(kind: str) -> dict[str, Any]:
    lines = RECORDED.read_text().splitlines()
    return next(event for event in map(json.loads, lines) if event["type"] == kind)


def configuration(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns("*.md"))
    files = {name: tmp_path / name for name in ("ci_ed25519", "known_hosts", "password")}
    for path in files.values():
        path.write_text("something")
    (directory / "connection.yaml").write_text(
        "- connection:\n    name: sandbox\n    host: 127.0.0.1\n"
        "    http_url: http://127.0.0.1:9/\n    user: crosscheck-ci\n"
        f"    ssh_key: {files['ci_ed25519']}\n    known_hosts: {files['known_hosts']}\n"
        f"    http_password_file: {files['password']}\n"
    )
    return directory


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
        meta = recorded("ref-updated")
        meta["refUpdate"]["refName"] = "refs/changes/42/642/meta"  # a review's NoteDb update
        assert await source.submit(parse_line(json.dumps(meta), "sandbox"))
        assert not scheduler._wake.is_set()

        created = parse_line(json.dumps(recorded("patchset-created")), "sandbox")
        assert created.project == "sandbox/ci-sandbox"  # the example's project: enqueued
        assert await source.submit(created)
        assert scheduler._wake.is_set()
    finally:
        for client in service.rest.values():
            await client.aclose()
        await service.engine.dispose()
