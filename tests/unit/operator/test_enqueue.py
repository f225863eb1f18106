"""`POST /api/v1/enqueue`: a change goes through the same path as a triggered one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.build import BuildResult
from crosscheck.model.events import Origin
from crosscheck.store.event_codec import load_event
from crosscheck.store.tables import items, reports
from tests.fakes.gerrit import FakeGerrit

from ..scheduler.fakes import settle
from .harness import (
    CI_WITH_TOKEN,
    CONFIG,
    TWO_CONNECTIONS,
    change_info,
    load,
    operator_api,
)

pytestmark = pytest.mark.usefixtures("token_in_env")


async def test_an_enqueued_change_is_built_and_reported_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        api.executor.results["lab"] = BuildResult.FAILURE
        answer = await api.enqueue(pipeline="check", change=3)
        assert answer.status_code == 201, answer.text
        item = answer.json()["item"]
        await settle(api.scheduler)
        await settle(api.scheduler)
    assert item["change"] == 3
    assert item["patchset"] == 2  # the current one
    assert item["project"] == "acme/driver"
    assert item["branch"] == "master"
    assert item["state"] == "new"
    assert item["why"] == "enqueued by an operator"
    assert sorted(r.job.name for r in api.executor.requests) == ["lab", "unit"]
    request = api.executor.requests[0]
    assert request.event.patchset is not None
    assert request.event.patchset.ref == "refs/changes/03/3/2"
    assert request.event.type == "patchset-created"
    async with engine.connect() as db:
        (report,) = (await db.execute(select(reports))).all()
        (state,) = await db.scalars(select(items.c.state))
    assert (report.change_number, report.patchset) == (3, 2)
    payload = json.loads(report.payload)
    assert payload["labels"] == {"Verified": -1}
    assert payload["message"].startswith("Build failed (check pipeline).")
    assert state == "finished"


async def test_a_patchset_may_be_named_and_the_event_says_an_operator_sent_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        answer = await api.enqueue(pipeline="check", change=4, patchset=1, project="acme/driver")
    assert answer.status_code == 201, answer.text
    assert answer.json()["item"]["patchset"] == 1
    async with engine.connect() as db:
        (text,) = await db.scalars(select(items.c.event))
    event = load_event(text)
    assert event.origin is Origin.OPERATOR
    assert event.account is None
    assert event.change is not None
    assert event.change.url == "https://review.example.org/c/acme/driver/+/4"
    assert event.change.commit_message == "Change 4\n"


async def test_the_same_patchset_is_not_queued_twice(engine: AsyncEngine, tmp_path: Path) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        first = await api.enqueue(pipeline="check", change=5)
        second = await api.enqueue(pipeline="check", change=5, patchset=2)
    assert second.status_code == 409
    detail = second.json()["detail"]
    assert detail.startswith(
        f"change 5,2 is already queued in pipeline 'check' as item {first.json()['item']['id']}:"
    )
    assert "dequeue it first" in detail


async def test_a_newer_patchset_supersedes_the_queued_one_as_a_trigger_would(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        await api.enqueue(pipeline="check", change=6, patchset=1)
        await api.enqueue(pipeline="check", change=6, patchset=2)
        status = await api.status()
    async with engine.connect() as db:
        states = [tuple(r) for r in await db.execute(select(items.c.patchset, items.c.state))]
    assert states == [(1, "superseded"), (2, "new")]
    (check, _) = status["pipelines"]
    assert [i["patchset"] for i in check["items"]] == [2]


async def test_a_merged_change_goes_to_a_pipeline_triggered_by_merges(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    gerrit = FakeGerrit([change_info(7, status="MERGED")])
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG), gerrit) as api:
        refused = await api.enqueue(pipeline="check", change=7)
        accepted = await api.enqueue(pipeline="post", change=7)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "change 7 is merged, and pipeline 'check' runs for open changes only "
        "(it has no change-merged trigger)"
    )
    assert accepted.status_code == 201, accepted.text
    async with engine.connect() as db:
        (text,) = await db.scalars(select(items.c.event))
    assert load_event(text).type == "change-merged"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"pipeline": "chek", "change": 1}, 404, "unknown pipeline 'chek'; did you mean 'check'?"),
        (
            {"pipeline": "gate", "change": 1},
            404,
            "unknown pipeline 'gate'; pipelines: check, post",
        ),
        (
            {"pipeline": "check", "change": 1, "connection": "reveiw"},
            404,
            "unknown connection 'reveiw'; did you mean 'review'?",
        ),
        (
            {"pipeline": "check", "change": 99},
            404,
            "change 99 is not on connection 'review', or its account 'ci' cannot see it",
        ),
        (
            {"pipeline": "check", "change": 1, "patchset": 3},
            404,
            "change 1 has no patchset 3 (patchsets: 1, 2)",
        ),
        (
            {"pipeline": "check", "change": 1, "project": "acme/other"},
            422,
            "change 1 is in project 'acme/driver', not 'acme/other' "
            "(leave the project out: it is read from Gerrit)",
        ),
        (
            {"pipeline": "check", "change": 20},
            422,
            "change 20 is in project 'acme/docs', which has no jobs in pipeline 'check' "
            "(projects with jobs there: acme/driver): add the pipeline to the project "
            "in the configuration",
        ),
        ({"pipeline": "check", "change": 21}, 409, "change 21 is abandoned: restore it"),
    ],
)
async def test_what_cannot_be_enqueued_is_refused_with_the_reason(
    engine: AsyncEngine, tmp_path: Path, body: dict[str, Any], status: int, detail: str
) -> None:
    gerrit = FakeGerrit(
        [
            change_info(1),
            change_info(20, project="acme/docs"),
            change_info(21, status="ABANDONED"),
        ]
    )
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG), gerrit) as api:
        answer = await api.enqueue(**body)
        assert answer.status_code == status, answer.text
        assert answer.json()["detail"].startswith(detail)
        assert (await api.status())["pipelines"][0]["items"] == []


async def test_a_project_whose_pipeline_lists_no_job_is_refused_like_one_without_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    empty = "- project:\n    name: acme/empty\n    check:\n      jobs: []\n"
    gerrit = FakeGerrit([change_info(22, project="acme/empty")])
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG + empty), gerrit) as api:
        answer = await api.enqueue(pipeline="check", change=22)
        assert (await api.status())["pipelines"][0]["items"] == []
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == (
        "change 22 is in project 'acme/empty', which has no jobs in pipeline 'check' "
        "(projects with jobs there: acme/driver): add the pipeline to the project "
        "in the configuration"
    )


async def test_gerrit_not_answering_is_a_bad_gateway(engine: AsyncEngine, tmp_path: Path) -> None:
    gerrit = FakeGerrit(down=True)
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG), gerrit) as api:
        answer = await api.enqueue(pipeline="check", change=1)
    assert answer.status_code == 502
    assert answer.json()["detail"].startswith(
        "cannot look change 1 up on connection 'review': no answer from Gerrit"
    )


async def test_the_connection_is_needed_when_the_pipeline_uses_several(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    config = load(tmp_path, CI_WITH_TOKEN + TWO_CONNECTIONS)
    async with operator_api(engine, config) as api:
        ambiguous = await api.enqueue(pipeline="both", change=1)
        # `check` triggers on `review` only: that is its connection.
        implied = await api.enqueue(pipeline="check", change=1)
        named = await api.enqueue(pipeline="both", change=1, connection="upstream")
    assert ambiguous.status_code == 422
    assert ambiguous.json()["detail"] == (
        "pipeline 'both' uses connections review, upstream: give the connection"
    )
    assert implied.status_code == 201
    assert implied.json()["item"]["connection"] == "review"
    assert named.status_code == 201, named.text
    assert named.json()["item"]["connection"] == "upstream"
    assert "https://upstream.example.org" in str(api.gerrit.urls[-1])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"change": 1}, "pipeline"),
        ({"pipeline": "check"}, "change"),
        ({"pipeline": "check", "change": 0}, "change"),
        ({"pipeline": "check", "change": "one"}, "change"),
        ({"pipeline": "check", "change": 1, "patchset": -2}, "patchset"),
        ({"pipeline": "", "change": 1}, "pipeline"),
        ({"pipeline": "check", "change": 1, "ref": "refs/heads/main"}, "ref"),
    ],
)
async def test_a_malformed_body_is_refused_naming_the_field(
    engine: AsyncEngine, tmp_path: Path, body: dict[str, Any], field: str
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        answer = await api.enqueue(**body)
    assert answer.status_code == 422
    assert [problem["loc"][-1] for problem in answer.json()["detail"]] == [field]
    assert api.gerrit.calls == []
