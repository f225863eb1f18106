"""The health table's snapshot policy, on a clock the test moves; its rows rendered once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from types import SimpleNamespace
from typing import Any

import pytest
from markupsafe import Markup
from sqlalchemy.exc import OperationalError

from crosscheck.config.pages import NO_SNAPSHOTS, SnapshotPolicy
from crosscheck.web.pages import _rendered
from crosscheck.web.snapshots import MAX_BODIES, Snapshot, Snapshots


class Store:
    """Counts reads; `version` is what the cheap probe answers."""

    def __init__(self) -> None:
        self.version = 1
        self.reads = 0
        self.probes = 0
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def take(self, key: str) -> str:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("database is locked")
        return f"{key} read {self.reads} at version {self.version}"

    async def probe(self) -> int:
        self.probes += 1
        return self.version


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


POLICY = SnapshotPolicy(recheck_after=5, refresh_after=60, max_age=600)


def made(store: Store, clock: Clock, policy: SnapshotPolicy = POLICY) -> Snapshots[str, str]:
    return Snapshots(store.take, store.probe, policy=policy, clock=clock)


async def settled() -> None:
    """Lets a refresh started behind the reader run to its end."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_young_snapshots_are_served_without_a_query() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    first = await snapshots.get("table")
    store.version = 2  # a write: not looked for while the snapshot is this young
    clock.now += 4.9
    assert (await snapshots.get("table")).value == first.value
    assert (store.reads, store.probes) == (1, 1)  # the probe taken with the first read


async def test_a_write_refreshes_behind_the_reader_after_the_recheck_time() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    clock.now += 5
    assert (await snapshots.get("table")).value == "table read 1 at version 1"  # unmoved
    assert store.reads == 1
    store.version = 2
    served = await snapshots.get("table")
    assert served.value == "table read 1 at version 1"  # this reader does not wait
    await settled()
    assert (await snapshots.get("table")).value == "table read 2 at version 2"


async def test_time_alone_refreshes_after_refresh_after() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    clock.now += 60
    assert (await snapshots.get("table")).value == "table read 1 at version 1"
    await settled()
    assert store.reads == 2
    assert (await snapshots.get("table")).value == "table read 2 at version 1"


async def test_too_old_a_snapshot_is_read_again_while_the_reader_waits() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    clock.now += 600
    assert (await snapshots.get("table")).value == "table read 2 at version 1"


async def test_keys_have_their_own_snapshots() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    assert (await snapshots.get("a")).value == "a read 1 at version 1"
    assert (await snapshots.get("b")).value == "b read 2 at version 1"
    assert (await snapshots.get("a")).value == "a read 1 at version 1"


async def test_waiting_readers_share_one_read() -> None:
    store, clock = Store(), Clock()
    store.gate = asyncio.Event()
    snapshots = made(store, clock)
    readers = [asyncio.create_task(snapshots.get("table")) for _ in range(5)]
    await settled()
    store.gate.set()
    values = {snapshot.value for snapshot in await asyncio.gather(*readers)}
    assert values == {"table read 1 at version 1"}
    assert store.reads == 1


async def test_a_reader_going_away_does_not_cancel_the_others_read() -> None:
    store, clock = Store(), Clock()
    store.gate = asyncio.Event()
    snapshots = made(store, clock)
    leaving = asyncio.create_task(snapshots.get("table"))
    staying = asyncio.create_task(snapshots.get("table"))
    await settled()
    leaving.cancel()
    store.gate.set()
    assert (await staying).value == "table read 1 at version 1"


async def test_one_refresh_at_a_time_behind_the_readers() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    store.gate = asyncio.Event()
    clock.now += 60
    for _ in range(10):
        await snapshots.get("table")
    store.gate.set()
    await settled()
    assert store.reads == 2


async def test_a_failed_refresh_is_logged_and_the_last_snapshot_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    store.fail = True
    clock.now += 60
    assert (await snapshots.get("table")).value == "table read 1 at version 1"
    await settled()
    (record,) = [r for r in caplog.records if r.name == "crosscheck.web.snapshots"]
    assert record.levelno == logging.WARNING
    assert "database is locked" in record.getMessage()
    store.fail = False
    clock.now += 1
    await snapshots.get("table")
    await settled()
    assert (await snapshots.get("table")).value == "table read 3 at version 1"


async def test_a_failed_read_while_waiting_reaches_the_reader() -> None:
    store, clock = Store(), Clock()
    store.fail = True
    with pytest.raises(RuntimeError, match="database is locked"):
        await made(store, clock).get("table")


async def test_no_snapshots_reads_every_time() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock, NO_SNAPSHOTS)
    for expected in range(1, 4):
        assert (await snapshots.get("table")).value == f"table read {expected} at version 1"


async def test_bodies_are_made_once_per_snapshot_and_bounded() -> None:
    store, clock = Store(), Clock()
    snapshot = await made(store, clock).get("table")
    made_bodies: list[int] = []

    def body(number: int) -> bytes:
        made_bodies.append(number)
        return str(number).encode()

    assert snapshot.body("q", lambda: body(1)) == b"1"
    assert snapshot.body("q", lambda: body(2)) == b"1"
    for number in range(MAX_BODIES + 5):
        snapshot.body(number, lambda number=number: body(number))  # type: ignore[misc]
    assert len(snapshot.bodies) == MAX_BODIES
    assert snapshot.body(MAX_BODIES + 4, lambda: b"again") == b"again"  # not kept


def test_a_policy_out_of_order_is_refused() -> None:
    with pytest.raises(ValueError, match="recheck_after <= refresh_after <= max_age"):
        SnapshotPolicy(recheck_after=10, refresh_after=5, max_age=600)


def test_rows_are_rendered_once_per_snapshot_whatever_the_order() -> None:
    made_for: list[str] = []

    def make(row: Any) -> Markup:
        made_for.append(row.account)
        return Markup("<tr>{}</tr>").format(row.account)

    rows = [SimpleNamespace(account=name) for name in ("b", "a")]
    parts: dict[Hashable, Any] = {id(row): (row, make(row)) for row in rows}
    row_html: Callable[[Any], Markup] = _rendered(parts, make)
    first = [row_html(row) for row in rows]
    again = [row_html(row) for row in reversed(rows)]
    assert again == list(reversed(first))
    assert made_for == ["b", "a"]
    other = SimpleNamespace(account="b")  # an equal row, another object: made, not kept
    for _ in range(3):
        assert row_html(other) == first[0]
    assert made_for == ["b", "a", "b", "b", "b"]
    assert len(parts) == 2


async def test_ready_prepares_each_snapshot_before_it_is_served() -> None:
    store, clock = Store(), Clock()
    prepared: list[str] = []

    def ready(snapshot: Snapshot[str]) -> None:
        prepared.append(snapshot.value)
        snapshot.parts["rows"] = snapshot.value.upper()

    snapshots = Snapshots(store.take, store.probe, policy=POLICY, clock=clock, ready=ready)
    assert (await snapshots.get("table")).parts["rows"] == "TABLE READ 1 AT VERSION 1"
    clock.now += 60  # a refresh behind the reader prepares its snapshot too
    await snapshots.get("table")
    await settled()
    assert prepared == ["table read 1 at version 1", "table read 2 at version 1"]
    assert (await snapshots.get("table")).parts["rows"] == "TABLE READ 2 AT VERSION 1"


async def test_figures_the_store_moved_past_a_minute_ago_are_read_for_the_reader() -> None:
    """A quiet service: the first reader after a change sees it, not a stale table."""
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    store.version = 2
    clock.now += 60
    assert (await snapshots.get("table")).value == "table read 2 at version 2"


async def test_readers_during_a_read_they_must_wait_for_wait_for_it_too() -> None:
    store, clock = Store(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    store.version, store.gate = 2, asyncio.Event()
    clock.now += 60
    readers = [asyncio.create_task(snapshots.get("table")) for _ in range(3)]
    await settled()
    store.gate.set()
    values = {snapshot.value for snapshot in await asyncio.gather(*readers)}
    assert values == {"table read 2 at version 2"}


class Outage(Store):
    broken = False

    async def probe(self) -> int:
        if self.broken:
            raise KeyError("version")
        if self.fail:  # as SQLAlchemy says a connection the driver could not make
            raise OperationalError("SELECT max(id)", {}, OSError("connection refused"))
        return await super().probe()


async def test_while_the_store_is_away_the_snapshot_is_served_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="crosscheck.web.snapshots")
    store, clock = Outage(), Clock()
    snapshots = Snapshots(store.take, store.probe, policy=POLICY, clock=clock, name="the table")
    await snapshots.get("table")
    store.fail = True
    for _ in range(5):
        clock.now += 20  # a recheck each time, none answered: no refresh is tried
        assert (await snapshots.get("table")).value == "table read 1 at version 1"
        await settled()
    records = [r for r in caplog.records if r.name == "crosscheck.web.snapshots"]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert warnings == [
        "the table: the store does not answer (OSError: connection refused); readers get "
        "the figures read 20s ago for 9m 40s more"
    ]
    assert len([r for r in records if r.levelno == logging.DEBUG]) >= 3
    store.fail = False
    clock.now += 1
    await snapshots.get("table")
    await settled()
    assert (await snapshots.get("table")).value == "table read 2 at version 1"
    assert caplog.records[-1].getMessage() == "the table: the store answers again"
    clock.now += 600
    store.fail = True
    with pytest.raises(OperationalError, match="connection refused"):
        await snapshots.get("table")  # too old to serve: the reader is told


async def test_a_fault_of_the_version_read_itself_reaches_the_reader() -> None:
    """Only the store away keeps readers on the snapshot: a bug is not hidden as one."""
    store, clock = Outage(), Clock()
    snapshots = made(store, clock)
    await snapshots.get("table")
    store.broken = True
    clock.now += 5
    with pytest.raises(KeyError):
        await snapshots.get("table")
