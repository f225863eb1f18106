"""The promotion engine on SQLite and PostgreSQL: results arrive through the results
service, the engine decides at once, climbs as far as the evidence goes, never
backwards, exactly once, and catches up at start on what arrived while it was down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.candidate import Candidate
from crosscheck.model.promotion import (
    ApprovalRule,
    CriterionState,
    JobCriterion,
    Level,
    NewCandidateResult,
    PromotionKind,
)
from crosscheck.model.results import ResultValue
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.promotion.engine import PromotionEngine
from crosscheck.promotion.explain import explain
from crosscheck.results.errors import UnknownCandidateError
from crosscheck.results.service import ResultsService
from crosscheck.store import evidence, open_store
from crosscheck.store import promotion as store

NAME = "os-nosdn"
T0 = datetime.now(UTC) - timedelta(hours=1)


def scenario(soak: timedelta | None = None) -> Scenario:
    return Scenario(
        NAME,
        components=(
            Component("nova", RefKind.BRANCH, "master", connection="gerrit", project="nova"),
            Component("apex", RefKind.BRANCH, "master", connection="gerrit", project="apex"),
        ),
        levels=(
            Level("verified", None, (JobCriterion(("unit",)),), ("ci-a",)),
            Level(
                "daily",
                "verified",
                (JobCriterion(("deploy",)), JobCriterion(("smoke", "health"))),
                ("ci-a", "ci-b"),
                soak=soak,
            ),
            Level(
                "release",
                "daily",
                (JobCriterion(("deploy",)),),
                ("ci-a", "ci-b"),
                approvals=ApprovalRule(("rm",)),
            ),
        ),
    )


def candidate(n: int) -> Candidate:
    return Candidate(NAME, {"nova": f"{n:040x}", "apex": "a" * 40})


@pytest.fixture
def engine(store: AsyncEngine) -> AsyncEngine:
    return store


@pytest.fixture
async def results(engine: AsyncEngine) -> ResultsService:
    service = ResultsService(engine)
    for name in ("ci-a", "ci-b", "rm"):
        await service.accounts.create(name)
    return service


async def recorded(engine: AsyncEngine, *numbers: int) -> list[str]:
    async with engine.begin() as db:
        for n in numbers:
            await store.record_candidate(db, candidate(n), "merge", T0 + timedelta(minutes=n))
    return [candidate(n).id for n in numbers]


async def report(
    results: ResultsService, account: str, candidate_id: str, **jobs: ResultValue
) -> None:
    items = [NewCandidateResult(candidate_id, job, value) for job, value in jobs.items()]
    await results.candidates.report(account, items, now=datetime.now(UTC))


async def held(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as db:
        return {
            level: pointer.candidate for level, pointer in (await store.pointers(db, NAME)).items()
        }


async def until(check: Callable[[], object], seconds: float = 5.0) -> float:
    """Seconds until the async `check` is true; fails after `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if await check():  # type: ignore[misc]
            return time.monotonic() - start
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {seconds}s")


@pytest.fixture
async def running(engine: AsyncEngine, results: ResultsService) -> AsyncIterator[PromotionEngine]:
    promotion = PromotionEngine(engine, lambda: {NAME: scenario()})
    results.candidates.listeners.append(promotion.evidence_arrived)
    task = asyncio.create_task(promotion.run())
    try:
        yield promotion
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_result_promotes_within_a_second(
    engine: AsyncEngine, results: ResultsService, running: PromotionEngine
) -> None:
    [first] = await recorded(engine, 1)
    await report(results, "ci-a", first, unit=ResultValue.PASSED)

    async def verified() -> bool:
        return (await held(engine)).get("verified") == first

    assert await until(verified) < 1.0
    async with engine.connect() as db:
        [record] = await store.history(db, NAME, "verified")
        [stored] = (await evidence.evidence(db, first)).results
    assert (record.kind, record.by, record.candidate) == (PromotionKind.PROMOTE, "criteria", first)
    assert record.evidence == {"job unit": (stored.id,)}
    assert await held(engine) == {"verified": first}  # daily waits for its own jobs


async def test_a_candidate_climbs_as_far_as_its_evidence_goes(
    engine: AsyncEngine, results: ResultsService
) -> None:
    [first] = await recorded(engine, 1)
    await report(results, "ci-a", first, unit=ResultValue.PASSED, deploy=ResultValue.PASSED)
    await report(results, "ci-b", first, health=ResultValue.PASSED)
    promotion = PromotionEngine(engine, lambda: {NAME: scenario()})
    climb = await promotion.climb(first)
    assert climb.promoted == ("verified", "daily")
    assert climb.stopped_at is not None
    assert climb.stopped_at.level == "release"
    waiting = [c.criterion for c in climb.stopped_at.criteria if c.state is CriterionState.MISSING]
    assert waiting == ["1 approval(s) by rm"]
    assert await held(engine) == {"verified": first, "daily": first}


async def test_a_failure_blocks_and_an_alternative_unblocks(
    engine: AsyncEngine, results: ResultsService
) -> None:
    [first] = await recorded(engine, 1)
    promotion = PromotionEngine(engine, lambda: {NAME: scenario()})
    await report(results, "ci-a", first, unit=ResultValue.PASSED, deploy=ResultValue.PASSED)
    await report(results, "ci-b", first, smoke=ResultValue.FAILED)
    climb = await promotion.climb(first)
    assert climb.promoted == ("verified",)
    assert climb.stopped_at is not None
    states = {c.criterion: c.state for c in climb.stopped_at.criteria}
    assert states["any of jobs smoke, health"] is CriterionState.FAILED
    await report(results, "ci-a", first, health=ResultValue.PASSED)
    assert (await promotion.climb(first)).promoted == ("daily",)


async def test_an_uncounted_account_completes_nothing(
    engine: AsyncEngine, results: ResultsService
) -> None:
    [first] = await recorded(engine, 1)
    await report(results, "ci-b", first, unit=ResultValue.PASSED)  # verified counts ci-a only
    climb = await PromotionEngine(engine, lambda: {NAME: scenario()}).climb(first)
    assert climb.promoted == ()
    assert await held(engine) == {}


async def test_an_approval_completes_the_release_level(
    engine: AsyncEngine, results: ResultsService
) -> None:
    [first] = await recorded(engine, 1)
    await report(results, "ci-a", first, unit=ResultValue.PASSED, deploy=ResultValue.PASSED)
    await report(results, "ci-b", first, smoke=ResultValue.PASSED)
    promotion = PromotionEngine(engine, lambda: {NAME: scenario()})
    assert (await promotion.climb(first)).promoted == ("verified", "daily")
    async with engine.begin() as db:
        at = datetime.now(UTC)
        assert await evidence.approve(db, first, "release", account="rm", at=at, comment="go")
        assert not await evidence.approve(db, first, "release", account="rm", at=at, comment="")
    climb = await promotion.climb(first)
    assert climb.promoted == ("release",)
    async with engine.connect() as db:
        [record] = await store.history(db, NAME, "release")
    assert record.evidence["1 approval(s) by rm"] == ()


async def test_an_older_candidate_never_replaces_a_newer_one(
    engine: AsyncEngine, results: ResultsService
) -> None:
    older, newer = await recorded(engine, 1, 2)
    promotion = PromotionEngine(engine, lambda: {NAME: scenario()})
    await report(results, "ci-a", newer, unit=ResultValue.PASSED)
    assert (await promotion.climb(newer)).promoted == ("verified",)
    await report(results, "ci-a", older, unit=ResultValue.PASSED)
    assert (await promotion.climb(older)).promoted == ()
    assert await held(engine) == {"verified": newer}
    async with engine.connect() as db:
        assert len(await store.history(db, NAME)) == 1


async def test_evidence_that_arrived_while_no_engine_ran_is_promoted_once_at_start(
    engine: AsyncEngine, results: ResultsService
) -> None:
    first, second = await recorded(engine, 1, 2)
    # Stored, then the process died before any engine decided (nobody listened).
    await report(results, "ci-a", first, unit=ResultValue.PASSED)
    await report(results, "ci-a", second, unit=ResultValue.PASSED)
    for _ in range(2):  # a start, then another: the second promotes nothing
        await PromotionEngine(engine, lambda: {NAME: scenario()}).sweep()
    assert await held(engine) == {"verified": second}
    async with engine.connect() as db:
        moves = await store.history(db, NAME)
    # Oldest first at start: the older candidate reached verified, then the newer one.
    assert [(m.candidate, m.previous) for m in reversed(moves)] == [(first, None), (second, first)]


async def test_two_engines_deciding_together_promote_once(
    engine: AsyncEngine, results: ResultsService, store_url: str
) -> None:
    [first] = await recorded(engine, 1)
    await report(results, "ci-a", first, unit=ResultValue.PASSED)
    other = await open_store(store_url)  # a second serve process's engine
    try:
        climbs = await asyncio.gather(
            PromotionEngine(engine, lambda: {NAME: scenario()}).climb(first),
            PromotionEngine(other, lambda: {NAME: scenario()}).climb(first),
        )
    finally:
        await other.dispose()
    assert sorted(c.promoted for c in climbs) == [(), ("verified",)]
    async with engine.connect() as db:
        assert len(await store.history(db, NAME, "verified")) == 1


async def test_a_level_waiting_only_for_its_soak_is_promoted_when_it_ends(
    engine: AsyncEngine, results: ResultsService
) -> None:
    [first] = await recorded(engine, 1)
    promotion = PromotionEngine(engine, lambda: {NAME: scenario(soak=timedelta(seconds=1))})
    results.candidates.listeners.append(promotion.evidence_arrived)
    task = asyncio.create_task(promotion.run())
    try:
        await report(results, "ci-a", first, unit=ResultValue.PASSED, deploy=ResultValue.PASSED)
        await report(results, "ci-b", first, smoke=ResultValue.PASSED)

        async def daily() -> bool:
            return (await held(engine)).get("daily") == first

        waited = await until(daily, 5.0)  # no further evidence: the soak's timer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    async with engine.connect() as db:
        reached = await store.promoted_levels(db, first)
    assert reached["daily"] - reached["verified"] >= timedelta(seconds=1)
    assert 0.5 < waited < 3.0


async def test_a_result_on_an_unknown_candidate_is_refused_and_stores_nothing(
    engine: AsyncEngine, results: ResultsService
) -> None:
    [first] = await recorded(engine, 1)
    items = [
        NewCandidateResult(first, "unit", ResultValue.PASSED),
        NewCandidateResult("f" * 64, "unit", ResultValue.PASSED),
    ]
    with pytest.raises(UnknownCandidateError) as refused:
        await results.candidates.report("ci-a", items, now=datetime.now(UTC))
    assert refused.value.problems[0][0] == "[1].candidate"
    assert await results.candidates.results(first) == []


async def test_explain_names_what_passed_failed_and_is_missing(
    engine: AsyncEngine, results: ResultsService
) -> None:
    [first] = await recorded(engine, 1)
    await report(results, "ci-a", first, unit=ResultValue.PASSED, deploy=ResultValue.FAILED)
    await PromotionEngine(engine, lambda: {NAME: scenario()}).climb(first)
    async with engine.connect() as db:
        shown = await explain(db, scenario(), "daily", None, datetime.now(UTC))
    assert shown.candidate is not None
    assert shown.candidate.id == first
    assert shown.verdict is not None
    states = {c.criterion: c.state.value for c in shown.verdict.criteria}
    assert states == {
        "reached verified": "passed",
        "job deploy": "failed",
        "any of jobs smoke, health": "missing",
    }
    [failed] = shown.results.values()
    assert (failed.job, failed.account, failed.value) == ("deploy", "ci-a", ResultValue.FAILED)
