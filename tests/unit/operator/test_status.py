"""`GET /api/v1/status`: pipelines, their items and builds, and the builds running now."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.pool import NodePool
from crosscheck.model.config import Config
from crosscheck.model.events import (
    TIMER_EVENT,
    Account,
    Change,
    Event,
    Origin,
    PatchSet,
    RefUpdate,
    TimerTick,
)
from crosscheck.model.node import Lab, SshNode
from crosscheck.operator.status import NodeStatus, node_statuses, why
from crosscheck.store.tables import builds, items

from ..scheduler.fakes import settle
from .harness import ADMIN_TOKEN, CI_WITH_TOKEN, CONFIG, TOKEN_VARIABLE, load, operator_api


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    return load(tmp_path, CI_WITH_TOKEN + CONFIG)


async def test_an_empty_ci_lists_its_pipelines_and_nothing_running(
    engine: AsyncEngine, config: Config
) -> None:
    async with operator_api(engine, config) as api:
        status = await api.status()
    assert status == {
        "pipelines": [
            {"name": "check", "manager": "independent", "items": []},
            {"name": "post", "manager": "supercedent", "items": []},
        ],
        "running_builds": [],
        "waiting_builds": 0,
        "reports": {"pending": [], "pending_count": 0, "failed": [], "failed_count": 0},
        "nodes": [],  # no pool given
        "retrying_builds": 0,
    }


def test_the_status_lists_every_node_of_the_pool_this_hosts_slots_first(tmp_path: Path) -> None:
    node = SshNode("array-1", "10.0.0.5", "ci", labels=("vendor",))
    pool = NodePool(
        Lab(nodes={"array-1": node}, local_labels=frozenset({"lab"})),
        LocalNodeProvider(tmp_path, 3),
    )
    pool.runtimes["array-1"].healthy = False
    pool.runtimes["array-1"].reason = "cannot connect to ci@10.0.0.5:22: timed out"
    assert node_statuses(pool) == [
        NodeStatus("local", "ready", ["lab"], None, [], "", None),
        NodeStatus(
            "array-1",
            "unhealthy",
            ["vendor"],
            None,
            [],
            "cannot connect to ci@10.0.0.5:22: timed out",
            None,
        ),
    ]


async def test_a_running_build_is_shown_in_its_item_and_among_the_running_ones(
    engine: AsyncEngine, config: Config
) -> None:
    before = datetime.now(UTC)
    async with operator_api(engine, config) as api:
        api.executor.hold = {"lab"}
        await api.enqueue(pipeline="check", change=3)
        await settle(api.scheduler, rounds=4)
        status = await api.status()
    check = status["pipelines"][0]
    (item,) = check["items"]
    assert item["change"] == 3
    assert item["patchset"] == 2
    assert item["project"] == "acme/driver"
    assert item["branch"] == "master"
    assert item["state"] == "running"
    assert item["connection"] == "review"
    assert item["why"] == "enqueued by an operator"
    assert datetime.fromisoformat(item["enqueued_at"]) >= before.replace(microsecond=0)
    by_job = {b["job"]: b for b in item["builds"]}
    assert sorted(by_job) == ["lab", "unit"]
    lab, unit = by_job["lab"], by_job["unit"]
    assert (lab["state"], lab["result"], lab["node"], lab["attempt"]) == (
        "running",
        None,
        "local-0",
        1,
    )
    assert lab["log_url"] == f"https://ci.example.org/logs/{lab['id']}/"
    assert lab["started_at"] is not None
    assert (unit["state"], unit["result"]) == ("finished", "SUCCESS")
    (running,) = status["running_builds"]
    assert running == {
        "id": lab["id"],
        "item": item["id"],
        "pipeline": "check",
        "project": "acme/driver",
        "change": 3,
        "patchset": 2,
        "job": "lab",
        "attempt": 1,
        "node": "local-0",
        "started_at": lab["started_at"],
        "log_url": lab["log_url"],
        "console_url": f"https://ci.example.org/builds/{lab['id']}/console",
    }
    assert status["waiting_builds"] == 0


async def test_a_retry_sitting_out_its_back_off_is_not_waiting_for_a_node(
    engine: AsyncEngine, config: Config
) -> None:
    """After an infrastructure error the next attempt waits for its time (30 s or more),
    not for a node: the status counts and shows it so, with when it may start."""
    from crosscheck.cli.status import output_console, render  # noqa: PLC0415
    from crosscheck.model.build import BuildResult  # noqa: PLC0415

    async with operator_api(engine, config) as api:
        api.executor.results["unit"] = BuildResult.ERROR
        await api.enqueue(pipeline="check", change=3)
        await settle(api.scheduler, rounds=4)
        status = await api.status()
    (item,) = status["pipelines"][0]["items"]
    retry = next(b for b in item["builds"] if b["job"] == "unit" and b["attempt"] == 2)
    assert retry["state"] == "waiting"
    assert datetime.fromisoformat(retry["not_before"]).replace(tzinfo=UTC) > datetime.now(UTC)
    assert (status["waiting_builds"], status["retrying_builds"]) == (0, 1)
    console = output_console()
    with console.capture() as captured:
        render(status, console, datetime.now(UTC))
    shown = captured.get()
    assert "0 waiting for a node, 1 waiting to retry" in shown
    assert "retry in " in shown


async def test_a_try_that_found_gerrit_away_is_shown_as_such(
    engine: AsyncEngine, config: Config
) -> None:
    """Such tries are not the job's attempts (Gerrit away is tried again until it is
    back): `unit #5 ERROR` alone would read as a job failing past its attempts."""
    from crosscheck.cli.status import output_console, render  # noqa: PLC0415
    from crosscheck.model.build import BuildResult  # noqa: PLC0415

    async with operator_api(engine, config) as api:
        api.executor.results["unit"] = BuildResult.ERROR
        await api.enqueue(pipeline="check", change=3)
        await settle(api.scheduler, rounds=4)
        async with engine.begin() as db:
            await db.execute(
                update(builds)
                .where(builds.c.job == "unit", builds.c.attempt == 1)
                .values(source_away=1)
            )
        status = await api.status()
    (item,) = status["pipelines"][0]["items"]
    tried = {b["attempt"]: b for b in item["builds"] if b["job"] == "unit"}
    assert (tried[1]["result"], tried[1]["source_away"]) == ("ERROR", True)
    assert tried[2]["source_away"] is False
    console = output_console()
    with console.capture() as captured:
        render(status, console, datetime.now(UTC))
    lines = captured.get().splitlines()
    (away,) = [line for line in lines if "(Gerrit away)" in line]
    assert "unit" in away
    assert "#" not in away.split("ERROR")[0]  # attempt 1


async def test_items_of_a_pipeline_no_longer_configured_are_still_shown(
    engine: AsyncEngine, config: Config
) -> None:
    async with operator_api(engine, config) as api:
        await api.enqueue(pipeline="check", change=1)
        await api.enqueue(pipeline="check", change=2)
        async with engine.begin() as db:
            await db.execute(update(items).where(items.c.change_number == 2).values(pipeline="old"))
        status = await api.status()
    assert [
        (p["name"], p["manager"], [i["change"] for i in p["items"]]) for p in status["pipelines"]
    ] == [
        ("check", "independent", [1]),
        ("post", "supercedent", []),
        ("old", None, [2]),
    ]


def event(kind: str, **fields: object) -> Event:
    change = Change(project="acme/driver", branch="master", number=5)
    return Event(
        type=kind,
        connection="review",
        created_on=int(time.time()),
        project="acme/driver",
        change=change,
        patchset=PatchSet(number=2, revision="a" * 40),
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (event("patchset-created", account=Account(username="dev")), "patchset 2 uploaded by dev"),
        (event("patchset-created"), "patchset 2 uploaded"),
        (
            event(
                "comment-added",
                account=Account(name="Ann", email="ann@example.org"),
                comment="Patch Set 2: Code-Review+1\n\nrecheck",
            ),
            'comment by ann@example.org: "recheck"',
        ),
        (
            event("comment-added", comment="Patch Set 2:\n\n" + "x" * 100),
            'comment: "' + "x" * 59 + '…"',
        ),
        (event("change-merged", account=Account(username="core")), "change-merged by core"),
        (event("patchset-created", origin=Origin.OPERATOR), "enqueued by an operator"),
        (
            Event(
                type=TIMER_EVENT,
                connection="review",
                created_on=1_800_000_000,
                project="acme/driver",
                origin=Origin.TIMER,
                timer=TimerTick(pipeline="periodic", branch="main"),
            ),
            "scheduled for 2027-01-15 08:00 UTC",
        ),
        (
            Event(
                type="ref-updated",
                connection="review",
                created_on=0,
                project="acme/driver",
                ref_update=RefUpdate("acme/driver", "refs/heads/main", "0" * 40, "b" * 40),
            ),
            "refs/heads/main updated",
        ),
    ],
)
def test_why_an_item_was_enqueued_is_said_in_a_few_words(given: Event, said: str) -> None:
    assert why(given) == said


async def test_the_api_is_described_in_the_openapi_document(
    engine: AsyncEngine, config: Config
) -> None:
    async with operator_api(engine, config) as api:
        answer = await api.http.get("/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert set(document["paths"]) == {"/api/v1/status", "/api/v1/enqueue", "/api/v1/dequeue"}
    enqueue = document["paths"]["/api/v1/enqueue"]["post"]
    assert enqueue["security"] == [{"HTTPBearer": []}]
    assert {"201", "401", "403", "404", "409", "422", "502"} <= set(enqueue["responses"])
    assert "running_builds" in document["components"]["schemas"]["StatusView"]["properties"]
