"""`POST /api/v1/dequeue`: an item ends, its builds are canceled, nothing is reported."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.states import ItemState
from crosscheck.store import work
from crosscheck.store.tables import builds, items, reports

from ..scheduler.fakes import settle
from .harness import CI_WITH_TOKEN, CONFIG, TWO_CONNECTIONS, load, operator_api

pytestmark = pytest.mark.usefixtures("token_in_env")


async def build_states(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as db:
        rows = await db.execute(select(builds.c.job, builds.c.state).order_by(builds.c.job))
        return [(row.job, row.state) for row in rows]


async def test_dequeuing_a_running_item_cancels_its_builds_and_reports_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        api.executor.hold = {"unit", "lab"}
        item_id = (await api.enqueue(pipeline="check", change=1)).json()["item"]["id"]
        await settle(api.scheduler, rounds=2)
        assert await build_states(engine) == [("lab", "running"), ("unit", "running")]

        answer = await api.dequeue(item=item_id)
        await settle(api.scheduler, rounds=3)
        canceled = sorted(api.executor.canceled)
        api.executor.release.set()  # were a task still alive, it would finish and report
        await settle(api.scheduler, rounds=3)

    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["dequeued"]
    assert (item["id"], item["state"], item["detail"]) == (
        item_id,
        "dequeued",
        "dequeued by an operator",
    )
    assert [(b["job"], b["state"], b["result"]) for b in item["builds"]] == [
        ("lab", "canceled", "CANCELED"),
        ("unit", "canceled", "CANCELED"),
    ]
    assert canceled == sorted(r.build_id for r in api.executor.requests)
    assert len(canceled) == 2
    assert await build_states(engine) == [("lab", "canceled"), ("unit", "canceled")]
    async with engine.connect() as db:
        assert (await db.execute(select(reports))).all() == []
        assert list(await db.scalars(select(items.c.state))) == ["dequeued"]


async def test_a_change_is_dequeued_by_pipeline_and_number(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        await api.enqueue(pipeline="check", change=1)
        await api.enqueue(pipeline="post", change=1)
        await api.enqueue(pipeline="check", change=2)
        wrong_patchset = await api.dequeue(pipeline="check", change=1, patchset=1)
        answer = await api.dequeue(pipeline="check", change=1, patchset=2)
        status = await api.status()
    assert wrong_patchset.status_code == 404
    assert wrong_patchset.json()["detail"] == (
        "nothing to dequeue: change 1,1 has no queued item in pipeline 'check'"
    )
    assert [(i["change"], i["pipeline"]) for i in answer.json()["dequeued"]] == [(1, "check")]
    queued = {p["name"]: [i["change"] for i in p["items"]] for p in status["pipelines"]}
    assert queued == {"check": [2], "post": [1]}


async def test_a_change_queued_from_two_connections_is_dequeued_from_the_one_named(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + TWO_CONNECTIONS)) as api:
        for connection in ("review", "upstream"):
            queued = await api.enqueue(pipeline="both", change=1, connection=connection)
            assert queued.status_code == 201, queued.text
        ambiguous = await api.dequeue(pipeline="both", change=1)
        answer = await api.dequeue(pipeline="both", change=1, connection="upstream")
        status = await api.status()
    assert ambiguous.status_code == 409
    assert ambiguous.json()["detail"] == (
        "change 1 is queued in 'both' from connections review, upstream: give the connection"
    )
    assert answer.status_code == 200, answer.text
    assert [i["connection"] for i in answer.json()["dequeued"]] == ["upstream"]
    assert [i["connection"] for p in status["pipelines"] for i in p["items"]] == ["review"]


async def test_a_planned_item_dequeued_before_its_builds_start_stays_dequeued(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # The race: a pass reads the item as new and asks Gerrit for its files; meanwhile
    # the operator dequeues it. The pass must not bring it back to life.
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        await api.enqueue(pipeline="check", change=1)
        async with engine.connect() as db:
            (stale,) = await work.items_in(db, ItemState.NEW)
        await api.dequeue(item=stale.id)
        await api.scheduler._plan(stale)
        await settle(api.scheduler)
    assert await build_states(engine) == []
    assert api.executor.requests == []
    async with engine.connect() as db:
        assert list(await db.scalars(select(items.c.state))) == ["dequeued"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"item": 99}, 404, "there is no item 99 (`crosscheck status` lists the queued ones)"),
        (
            {"pipeline": "check", "change": 5},
            404,
            "nothing to dequeue: change 5 has no queued item in pipeline 'check'",
        ),
        (
            {"pipeline": "chek", "change": 5},
            404,
            "unknown pipeline 'chek'; did you mean 'check'?",
        ),
        (
            {"pipeline": "check", "change": 5, "connection": "gerrit"},
            404,
            "unknown connection 'gerrit'; connections: review",
        ),
    ],
)
async def test_nothing_to_dequeue_is_said_clearly(
    engine: AsyncEngine, tmp_path: Path, body: dict[str, Any], status: int, detail: str
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        await api.enqueue(pipeline="check", change=1)
        answer = await api.dequeue(**body)
        assert len((await api.status())["pipelines"][0]["items"]) == 1
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"] == detail


async def test_an_item_that_already_ended_is_not_dequeued(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        item_id = (await api.enqueue(pipeline="check", change=1)).json()["item"]["id"]
        await settle(api.scheduler)
        for _ in range(50):
            async with engine.connect() as db:
                if list(await db.scalars(select(items.c.state))) == ["finished"]:
                    break
            await asyncio.sleep(0.02)
            await settle(api.scheduler, rounds=1)
        answer = await api.dequeue(item=item_id)
    assert answer.status_code == 409
    assert answer.json()["detail"] == (
        f"item {item_id} (change 1,2 in check) is finished already: nothing to dequeue"
    )
    async with engine.connect() as db:
        assert len((await db.execute(select(reports))).all()) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "give the item to dequeue, or its pipeline and change"),
        ({"pipeline": "check"}, "give the item to dequeue, or its pipeline and change"),
        ({"change": 1}, "give the item to dequeue, or its pipeline and change"),
        ({"item": 1, "change": 1}, "give item alone, or pipeline and change; not item with change"),
        ({"item": 0}, "greater than or equal to 1"),
    ],
)
async def test_a_malformed_dequeue_is_refused(
    engine: AsyncEngine, tmp_path: Path, body: dict[str, Any], message: str
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        answer = await api.dequeue(**body)
    assert answer.status_code == 422
    assert any(message in problem["msg"] for problem in answer.json()["detail"])
