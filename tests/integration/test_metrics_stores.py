"""/metrics in serve's web app: the queue depths read from the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, update

from crosscheck.config.loader import load_config
from crosscheck.model.config import Config
from crosscheck.serve.web_app import web_app
from crosscheck.store import open_store
from crosscheck.store.tables import builds, items, reports

CONFIG = """\
- connection:
    name: gerrit
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- pipeline:
    name: check
    manager: independent
    trigger: {gerrit: [{event: patchset-created}]}
- pipeline:
    name: gate
    manager: independent
    trigger: {gerrit: [{event: change-merged}]}
"""


def config(tmp_path: Path) -> Config:
    path = tmp_path / "ci.yaml"
    path.write_text(CONFIG)
    loaded = load_config([path])
    assert loaded.config is not None, loaded.errors
    return loaded.config


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def item_row(number: int, pipeline: str, state: str) -> dict[str, object]:
    return {
        "id": number,
        "pipeline": pipeline,
        "connection": "gerrit",
        "project": "acme/driver",
        "branch": "master",
        "change_number": number,
        "patchset": 1,
        "event": "{}",
        "state": state,
        "created_at": datetime.now(UTC),
    }


def build_row(build_id: str, state: str) -> dict[str, object]:
    return {"id": build_id, "item_id": 1, "job": "unit", "attempt": 1, "voting": 1, "state": state}


def report_row(key: str, connection: str, state: str) -> dict[str, object]:
    return {
        "report_key": key,
        "connection": connection,
        "project": "acme/driver",
        "change_number": 1,
        "patchset": 1,
        "revision": "a" * 40,
        "payload": "{}",
        "state": state,
        "attempts": 0,
        "created_at": datetime.now(UTC),
    }


async def test_queue_depths_are_read_from_the_store_at_each_scrape(
    store_url: str, tmp_path: Path
) -> None:
    engine = await open_store(store_url)
    try:
        app = web_app(config(tmp_path), engine, {}, tmp_path / "logs")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ci.test") as http:
            empty = samples((await http.get("/metrics")).text)
            async with engine.begin() as db:
                await db.execute(
                    insert(items),
                    [
                        item_row(1, "check", "running"),
                        item_row(2, "check", "new"),
                        item_row(3, "check", "new"),
                        item_row(4, "gate", "finished"),
                    ],
                )
                await db.execute(
                    insert(builds),
                    [
                        build_row("b1", "running"),
                        build_row("b2", "waiting"),
                        build_row("b3", "finished"),
                    ],
                )
                await db.execute(
                    insert(reports),
                    [
                        report_row("r1", "gerrit", "pending"),
                        report_row("r2", "gerrit", "sending"),
                        report_row("r3", "gerrit", "sent"),
                        report_row("r4", "@results", "pending"),
                    ],
                )
            answer = await http.get("/metrics")
            busy = samples(answer.text)
            async with engine.begin() as db:
                await db.execute(update(items).values(state="finished"))
                await db.execute(update(builds).values(state="finished"))
                await db.execute(update(reports).values(state="sent"))
            drained = samples((await http.get("/metrics")).text)
    finally:
        await engine.dispose()

    assert answer.headers["content-type"].startswith("text/plain; version=")

    def item(pipeline: str, state: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        return ("crosscheck_queue_items", (("pipeline", pipeline), ("state", state)))

    def build(state: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        return ("crosscheck_queue_builds", (("state", state),))

    def pending(connection: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        return ("crosscheck_reports_pending", (("connection", connection),))

    # Every configured pipeline and destination shows, at 0, before anything happened.
    for key in (item("check", "new"), item("gate", "running"), build("waiting"), pending("gerrit")):
        assert empty[key] == 0, key
    assert empty[pending("@results")] == 0
    assert busy[item("check", "running")] == 1
    assert busy[item("check", "new")] == 2
    assert busy[item("gate", "new")] == 0  # finished items are not queued
    assert busy[build("running")] == 1
    assert busy[build("waiting")] == 1
    assert busy[pending("gerrit")] == 2
    assert busy[pending("@results")] == 1
    for key in (item("check", "new"), build("running"), pending("gerrit"), pending("@results")):
        assert drained[key] == 0, key
