"""The transitions hub: moves published once their transaction committed, never those of
a transaction rolled back or whose COMMIT failed; subscribers isolated, order kept."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.model.states import ItemState, ItemTransition, Transition
from crosscheck.store import work
from crosscheck.store.tables import ci_tokens
from crosscheck.store.transitions import Transitions

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def patchset_created(number: int) -> Event:
    return Event(
        type="patchset-created",
        connection="review",
        created_on=1,
        project="acme/driver",
        change=Change(project="acme/driver", branch="master", number=number),
        patchset=PatchSet(number=1, revision=f"{number:040d}"),
    )


def moves(seen: list[Transition]) -> list[tuple[int, ItemState | None, ItemState]]:
    return [(m.item_id, m.from_state, m.to_state) for m in seen if isinstance(m, ItemTransition)]


def hub_on(engine: AsyncEngine) -> tuple[Transitions, list[Transition]]:
    hub = Transitions()
    hub.attach(engine)
    seen: list[Transition] = []
    hub.subscribe(seen.append)
    return hub, seen


async def test_moves_are_published_in_order_once_their_transaction_committed(
    engine: AsyncEngine,
) -> None:
    _, seen = hub_on(engine)
    async with engine.begin() as db:
        first = await work.add_item(db, "check", patchset_created(1))
        second = await work.add_item(db, "check", patchset_created(2))
        assert await work.plan_item(db, first, ItemState.RUNNING)
        assert seen == []  # not committed yet
    assert moves(seen) == [
        (first, None, ItemState.NEW),
        (second, None, ItemState.NEW),
        (first, ItemState.NEW, ItemState.RUNNING),
    ]
    created = seen[0]
    assert isinstance(created, ItemTransition)
    assert (created.pipeline, created.connection, created.project) == (
        "check",
        "review",
        "acme/driver",
    )
    assert (created.change, created.patchset) == (1, 1)
    async with engine.begin() as db:
        await work.end_items(db, [second, first], ItemState.DEQUEUED, "dequeued by an operator")
    assert moves(seen)[3:] == [
        (second, ItemState.NEW, ItemState.DEQUEUED),
        (first, ItemState.RUNNING, ItemState.DEQUEUED),
    ]


async def enqueue_then_fail(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        await work.add_item(db, "check", patchset_created(1))
        raise RuntimeError("the transaction fails")


async def enqueue_with_a_commit_that_fails(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        # SQLite checks a deferred foreign key at COMMIT, after SQLAlchemy's `commit`
        # event: the hub must wait for the COMMIT's end.
        await db.execute(text("PRAGMA defer_foreign_keys = ON"))
        await work.add_item(db, "check", patchset_created(1))
        await db.execute(
            insert(ci_tokens).values(account_id=404, token_hash="0" * 64, created_at=AT)
        )


async def test_a_rolled_back_transaction_publishes_nothing(engine: AsyncEngine) -> None:
    _, seen = hub_on(engine)
    with pytest.raises(RuntimeError):
        await enqueue_then_fail(engine)
    async with engine.connect() as db:  # never committed either
        await work.add_item(db, "check", patchset_created(2))
    assert seen == []
    async with engine.begin() as db:  # the same pooled connection: nothing left over
        third = await work.add_item(db, "check", patchset_created(3))
    assert moves(seen) == [(third, None, ItemState.NEW)]


async def test_a_move_whose_commit_fails_is_not_published(engine: AsyncEngine) -> None:
    _, seen = hub_on(engine)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        await enqueue_with_a_commit_that_fails(engine)
    async with engine.begin() as db:
        second = await work.add_item(db, "check", patchset_created(2))
    assert moves(seen) == [(second, None, ItemState.NEW)]


async def test_moves_rolled_back_to_a_savepoint_are_not_published(engine: AsyncEngine) -> None:
    _, seen = hub_on(engine)
    async with engine.begin() as db:
        kept = await work.add_item(db, "check", patchset_created(1))
        savepoint = await db.begin_nested()
        await work.add_item(db, "check", patchset_created(2))
        await savepoint.rollback()
    assert moves(seen) == [(kept, None, ItemState.NEW)]


async def test_a_failing_subscriber_is_logged_and_the_others_still_get_every_move(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    hub = Transitions()
    hub.attach(engine)
    hub.attach(engine)  # twice: still once per move

    def broken(_: Transition) -> None:
        raise ValueError("a subscriber's bug")

    seen: list[Transition] = []
    hub.subscribe(broken)
    hub.subscribe(seen.append)
    async with engine.begin() as db:
        first = await work.add_item(db, "check", patchset_created(1))
        second = await work.add_item(db, "check", patchset_created(2))
    assert moves(seen) == [(first, None, ItemState.NEW), (second, None, ItemState.NEW)]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 2
    assert "a subscriber to moves failed" in failures[0].getMessage()


async def test_an_unsubscribed_callable_gets_nothing_more(engine: AsyncEngine) -> None:
    hub, seen = hub_on(engine)
    later: list[Transition] = []
    unsubscribe = hub.subscribe(later.append)
    async with engine.begin() as db:
        await work.add_item(db, "check", patchset_created(1))
    unsubscribe()
    unsubscribe()  # harmless
    async with engine.begin() as db:
        await work.add_item(db, "check", patchset_created(2))
    assert (len(seen), len(later)) == (2, 1)


async def test_an_engine_no_hub_listens_to_keeps_no_moves(engine: AsyncEngine) -> None:
    async with engine.begin() as db:
        await work.add_item(db, "check", patchset_created(1))
        assert not any(str(key).startswith("crosscheck.") for key in db.info)


async def test_a_connection_invalidated_mid_transaction_rolls_back_cleanly(
    engine: AsyncEngine,
) -> None:
    """A task cancelled inside a statement invalidates its connection (the scheduler's
    bench found it): the rollback must not fail on the moves, nor poison the pool."""
    _, seen = hub_on(engine)
    async with engine.connect() as db:
        await db.begin()
        await work.add_item(db, "check", patchset_created(1))
        await db.invalidate()
    async with engine.begin() as db:
        added = await work.add_item(db, "check", patchset_created(2))
    assert moves(seen) == [(added, None, ItemState.NEW)]
