"""The promotion store on SQLite and PostgreSQL: candidates, pointers, history.

Exactly once and never backwards, including with two engines (two `serve`
processes) promoting together: each holds its transaction open a while, so the two
really overlap and one waits for the other's lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.candidate import Candidate, CandidateOrigin
from crosscheck.model.promotion import PromotionKind
from crosscheck.store import open_store
from crosscheck.store import promotion as store
from crosscheck.store.tables import promotions

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SCENARIO = "os-nosdn-nofeature"


def candidate(n: int, scenario: str = SCENARIO) -> Candidate:
    return Candidate(scenario, {"nova": f"{n:040x}", "apex": "a" * 40})


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await open_store(store_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def recorded(engine: AsyncEngine, *numbers: int) -> list[str]:
    """Candidates 1, 2, ... made a minute apart: a higher number is newer."""
    async with engine.begin() as db:
        for n in numbers:
            await store.record_candidate(db, candidate(n), "merge", T0 + timedelta(minutes=n))
    return [candidate(n).id for n in numbers]


async def promote(engine: AsyncEngine, level: str, candidate_id: str, hold: float = 0.0) -> bool:
    async with engine.begin() as db:
        done = await store.promote(
            db, SCENARIO, level, candidate_id, by="criteria", evidence={"job unit": [7, 9]}, at=T0
        )
        await asyncio.sleep(hold)  # still inside the transaction
        return done


async def test_the_promotion_tables_are_a_branch_of_their_own(store_url: str) -> None:
    for _ in range(2):  # a second start migrates nothing
        engine = await open_store(store_url)
        try:
            async with engine.connect() as db:
                heads = set(
                    (await db.execute(text("SELECT version_num FROM alembic_version"))).scalars()
                )
                tables = await db.run_sync(lambda sync: set(inspect(sync).get_table_names()))
                indexes = await db.run_sync(
                    lambda sync: {
                        i["name"]: i["unique"] for i in inspect(sync).get_indexes("promotions")
                    }
                )
        finally:
            await engine.dispose()
        assert "0203" in heads  # the promotion branch: 0200, evidence, releases, publications
        assert {"candidates", "level_pointers", "promotions"} <= tables
        assert indexes == {
            "ix_promotions_level": False,
            "ix_promotions_candidate": False,
            "uq_promotions_promoted_once": True,
        }


async def test_a_candidate_is_recorded_once(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        assert await store.record_candidate(db, candidate(1), CandidateOrigin.MERGE, T0)
        later = T0 + timedelta(hours=1)
        assert not await store.record_candidate(db, candidate(1), CandidateOrigin.TIMER, later)
    async with engine.connect() as db:
        kept = await store.candidate(db, candidate(1).id)
        assert await store.candidate(db, candidate(2).id) is None
    assert kept is not None
    assert kept.candidate == candidate(1)
    assert dict(kept.candidate.versions) == dict(candidate(1).versions)
    assert (kept.origin, kept.created_at) == ("merge", T0)


async def test_an_origin_is_short(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        with pytest.raises(ValueError, match="origin"):
            await store.record_candidate(db, candidate(1), "x" * 21, T0)


async def test_promote_moves_the_pointer_and_keeps_the_evidence(engine: AsyncEngine) -> None:
    [first] = await recorded(engine, 1)
    async with engine.connect() as db:
        assert await store.pointer(db, SCENARIO, "verified") is None
    assert await promote(engine, "verified", first)
    async with engine.connect() as db:
        pointer = await store.pointer(db, SCENARIO, "verified")
        everywhere = await store.pointers(db, SCENARIO)
        [record] = await store.history(db, SCENARIO, "verified")
    assert pointer is not None
    assert (pointer.candidate, pointer.moved_at, pointer.generation) == (first, T0, 1)
    assert everywhere == {"verified": pointer}
    assert record.kind is PromotionKind.PROMOTE
    assert (record.candidate, record.previous, record.by) == (first, None, "criteria")
    assert record.evidence == {"job unit": (7, 9)}
    assert (record.at, record.generation, record.reason) == (T0, 1, "")


async def test_the_same_promotion_twice_is_one(engine: AsyncEngine) -> None:
    [first] = await recorded(engine, 1)
    assert await promote(engine, "verified", first)
    assert not await promote(engine, "verified", first)
    async with engine.connect() as db:
        assert len(await store.history(db, SCENARIO)) == 1
        pointer = await store.pointer(db, SCENARIO, "verified")
    assert pointer is not None
    assert pointer.generation == 1


async def test_two_processes_promote_once(store_url: str) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        ids = await recorded(first, 1, 2, 3)
        for level in ("verified", "daily"):
            for candidate_id in ids:
                outcomes = await asyncio.gather(
                    promote(first, level, candidate_id, hold=0.1),
                    promote(second, level, candidate_id, hold=0.1),
                )
                assert sorted(outcomes) == [False, True]
        async with first.connect() as db:
            history = await store.history(db, SCENARIO)
            pointers = await store.pointers(db, SCENARIO)
    finally:
        await first.dispose()
        await second.dispose()
    assert len(history) == 6
    assert {(r.level, r.candidate) for r in history} == {
        (level, i) for level in ("verified", "daily") for i in ids
    }
    assert {level: (p.candidate, p.generation) for level, p in pointers.items()} == {
        "verified": (ids[2], 3),
        "daily": (ids[2], 3),
    }


async def test_racing_candidates_leave_the_newest(store_url: str) -> None:
    first, second = await open_store(store_url), await open_store(store_url)
    try:
        older, newer = await recorded(first, 1, 2)
        await asyncio.gather(
            promote(first, "verified", newer, hold=0.1),
            promote(second, "verified", older, hold=0.1),
        )
        async with first.connect() as db:
            pointer = await store.pointer(db, SCENARIO, "verified")
            history = await store.history(db, SCENARIO)
    finally:
        await first.dispose()
        await second.dispose()
    assert pointer is not None
    assert pointer.candidate == newer
    # Older first then newer: both recorded; newer first: the older one is refused.
    assert history[0].candidate == newer
    assert pointer.generation == len(history)


async def test_an_older_candidate_never_replaces_a_newer_one(engine: AsyncEngine) -> None:
    older, newer = await recorded(engine, 1, 2)
    assert await promote(engine, "verified", newer)
    assert not await promote(engine, "verified", older)
    async with engine.connect() as db:
        pointer = await store.pointer(db, SCENARIO, "verified")
        assert [r.candidate for r in await store.history(db, SCENARIO)] == [newer]
    assert pointer is not None
    assert pointer.candidate == newer


async def test_same_time_candidates_are_ordered_by_id(engine: AsyncEngine) -> None:
    low, high = sorted([candidate(1), candidate(2)], key=lambda c: c.id)
    async with engine.begin() as db:
        for each in (low, high):
            await store.record_candidate(db, each, "timer", T0)
    assert await promote(engine, "verified", high.id)
    assert not await promote(engine, "verified", low.id)


async def test_the_database_refuses_a_second_promotion_row(engine: AsyncEngine) -> None:
    """The unique index holds even for a writer that skipped the lock."""
    [first] = await recorded(engine, 1)
    assert await promote(engine, "verified", first)
    row = {
        "scenario": SCENARIO,
        "level": "verified",
        "candidate": first,
        "at": T0,
        "by": "criteria",
        "kind": "promote",
        "reason": "",
        "evidence": "{}",
        "generation": 2,
    }
    with pytest.raises(IntegrityError):
        async with engine.begin() as db:
            await db.execute(insert(promotions).values(**row))
    async with engine.begin() as db:  # a demotion row for the same candidate is fine
        await db.execute(insert(promotions).values(**{**row, "kind": "demote"}))


async def test_unknown_or_foreign_candidates_are_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        await store.record_candidate(db, candidate(1, "other"), "merge", T0)
    with pytest.raises(LookupError):
        await promote(engine, "verified", candidate(1).id)
    with pytest.raises(ValueError, match="of other"):
        await promote(engine, "verified", candidate(1, "other").id)
    async with engine.connect() as db:
        assert await store.history(db, SCENARIO) == []


async def test_demote_keeps_the_history_and_allows_repromotion_of_others(
    engine: AsyncEngine,
) -> None:
    one, two, three = await recorded(engine, 1, 2, 3)
    assert await promote(engine, "daily", one)
    assert await promote(engine, "daily", two)
    later = T0 + timedelta(hours=1)
    async with engine.begin() as db:
        demoted = await store.demote(
            db, SCENARIO, "daily", one, by="alice", reason="breaks ceph", at=later
        )
    assert demoted.kind is PromotionKind.DEMOTE
    assert (demoted.candidate, demoted.previous, demoted.by) == (one, two, "alice")
    assert (demoted.reason, demoted.evidence, demoted.generation) == ("breaks ceph", {}, 3)
    # The demoted candidate was promoted once; it is not promoted again by the rules.
    assert not await promote(engine, "daily", two)
    async with engine.begin() as db:  # a demotion only moves back
        with pytest.raises(ValueError, match="is newer than the candidate"):
            await store.demote(db, SCENARIO, "daily", two, by="alice", reason="x", at=later)
        with pytest.raises(ValueError, match="reason"):
            await store.demote(db, SCENARIO, "daily", None, by="alice", reason=" ", at=later)
        with pytest.raises(ValueError, match="reason is at most 2000 characters"):
            await store.demote(db, SCENARIO, "daily", None, by="a", reason="x" * 2001, at=later)
    # A newer candidate climbs as usual.
    assert await promote(engine, "daily", three)
    async with engine.begin() as db:
        cleared = await store.demote(
            db, SCENARIO, "daily", None, by="alice", reason="all broken", at=later
        )
        assert await store.pointer(db, SCENARIO, "daily") is None
        assert await store.pointers(db, SCENARIO) == {}
        with pytest.raises(ValueError, match="already"):
            await store.demote(db, SCENARIO, "daily", None, by="alice", reason="again", at=later)
        with pytest.raises(ValueError, match="holds no candidate: there is nothing to demote"):
            await store.demote(db, SCENARIO, "daily", one, by="alice", reason="x", at=later)
    assert (cleared.candidate, cleared.previous) == (None, three)
    # After a clear, any candidate not promoted to the level before may be.
    four = (await recorded(engine, 4))[0]
    assert await promote(engine, "daily", four)


async def test_rollback_returns_to_the_previous_pointer(engine: AsyncEngine) -> None:
    one, two = await recorded(engine, 1, 2)
    async with engine.begin() as db:
        with pytest.raises(LookupError, match="nothing to roll back"):
            await store.rollback(db, SCENARIO, "weekly", by="bob", reason="oops", at=T0)
    assert await promote(engine, "weekly", one)
    assert await promote(engine, "weekly", two)
    async with engine.begin() as db:
        back = await store.rollback(
            db, SCENARIO, "weekly", by="bob", reason="two fails on baremetal", at=T0
        )
        pointer = await store.pointer(db, SCENARIO, "weekly")
    assert back.kind is PromotionKind.ROLLBACK
    assert (back.candidate, back.previous, back.reason) == (one, two, "two fails on baremetal")
    assert pointer is not None
    assert (pointer.candidate, pointer.generation) == (one, 3)
    # Rolling back the rollback undoes it.
    async with engine.begin() as db:
        again = await store.rollback(db, SCENARIO, "weekly", by="bob", reason="false alarm", at=T0)
    assert (again.candidate, again.previous) == (two, one)


async def test_history_is_newest_first_per_level_or_all(engine: AsyncEngine) -> None:
    one, two = await recorded(engine, 1, 2)
    for level, candidate_id in (("verified", one), ("verified", two), ("daily", one)):
        assert await promote(engine, level, candidate_id)
    async with engine.connect() as db:
        everything = await store.history(db, SCENARIO)
        verified = await store.history(db, SCENARIO, "verified")
        newest = await store.history(db, SCENARIO, limit=1)
        other = await store.history(db, "another")
    assert [(r.level, r.candidate) for r in everything] == [
        ("daily", one),
        ("verified", two),
        ("verified", one),
    ]
    assert [r.candidate for r in verified] == [two, one]
    assert [r.previous for r in verified] == [one, None]
    assert newest == everything[:1]
    assert other == []
