"""The operator API's reads and writes on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crosscheck.store import open_store
from crosscheck.store.tables import items, reports
from tests.unit.operator.harness import (
    ADMIN_TOKEN,
    CI_WITH_TOKEN,
    CONFIG,
    TOKEN_VARIABLE,
    load,
    operator_api,
)
from tests.unit.scheduler.fakes import settle


async def test_enqueue_status_and_dequeue(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    engine = await open_store(store_url)
    try:
        async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
            api.executor.hold = {"lab"}
            for change in (1, 2):
                assert (await api.enqueue(pipeline="check", change=change)).status_code == 201
            await settle(api.scheduler, rounds=4)
            running = await api.status()
            dequeued = await api.dequeue(pipeline="check", change=1)
            again = await api.dequeue(pipeline="check", change=1)
            api.executor.hold = set()
            api.executor.release.set()
            await settle(api.scheduler, rounds=6)
            after = await api.status()
        async with engine.connect() as db:
            states = dict((await db.execute(select(items.c.change_number, items.c.state))).all())
            reported = list(await db.scalars(select(reports.c.change_number)))
    finally:
        await engine.dispose()

    assert sorted((b["job"], b["change"]) for b in running["running_builds"]) == [
        ("lab", 1),
        ("lab", 2),
    ]
    assert all(b["started_at"] for b in running["running_builds"])
    assert dequeued.status_code == 200, dequeued.text
    (item,) = dequeued.json()["dequeued"]
    assert {b["job"]: b["state"] for b in item["builds"]}["lab"] == "canceled"
    assert again.status_code == 404
    assert after["pipelines"][0]["items"] == []
    assert states == {1: "dequeued", 2: "finished"}
    assert reported == [2]
