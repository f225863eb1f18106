"""Merged changes and the votes Stackalytics counted: a CI's verdict on the patchset that merged.

Counting every result rewards a CI that reports many times on abandoned work; a
community steers by whether a CI voted on what actually merged, and how often it
said yes. So the store learns which changes merged, at which patchset (from the
backfill, serve's Gerrit stream, or POST /api/v1/merges), and each CI account gets
one vote per merged change: passed when every current voting job it ran to an end
on that patchset passed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.event_types import EventType
from crosscheck.model.events import Event
from crosscheck.model.results import ResultValue
from crosscheck.store.tables import merged_changes, results
from crosscheck.store.upsert import upsert


@dataclass(frozen=True)
class Merge:
    change: int
    project: str
    #: The patchset that merged (the change's current one when it merged).
    patchset: int
    merged_at: datetime


async def record_merge(connection: AsyncConnection, merge: Merge) -> None:
    """Insert or replace: recording a merge twice (stream, then backfill) changes nothing."""
    values = {
        "project": merge.project,
        "patchset": merge.patchset,
        "merged_at": merge.merged_at,
    }
    statement = upsert(connection, merged_changes).values(change_number=merge.change, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=["change_number"], set_=values)
    )


def merge_of(event: Event) -> Merge | None:
    """The merge a Gerrit `change-merged` event tells of, or None for any other event."""
    if event.type != EventType.CHANGE_MERGED or event.change is None or event.patchset is None:
        return None
    return Merge(
        change=event.change.number,
        project=event.change.project,
        patchset=event.patchset.number,
        merged_at=datetime.fromtimestamp(event.created_on, UTC),
    )


Sink = Callable[[Event, AsyncConnection], Awaitable[None]]


def recording_merges(sink: Sink) -> Sink:
    """`sink`, after recording a merge in the same transaction (serve's intake, when it
    serves the results service): each event is accepted once, so each merge is too."""

    async def accept(event: Event, connection: AsyncConnection) -> None:
        merge = merge_of(event)
        if merge is not None:
            await record_merge(connection, merge)
        await sink(event, connection)

    return accept


@dataclass(frozen=True)
class MergedVotes:
    """One CI account's votes on the last patchset of changes merged in a window."""

    votes: int = 0
    passed: int = 0

    @property
    def success_rate(self) -> float | None:
        return self.passed / self.votes if self.votes else None


async def merged_votes(
    connection: AsyncConnection, since: datetime, account_id: int | None = None
) -> dict[int, MergedVotes]:
    """Per account id: its votes on changes merged since `since`, on their merged patchset."""
    recent = select(merged_changes.c.change_number).where(merged_changes.c.merged_at >= since)
    merged_at_patchset = (
        select(merged_changes.c.patchset)
        .where(merged_changes.c.change_number == results.c.change_number)
        .scalar_subquery()
    )
    query = (
        select(
            results.c.account_id,
            results.c.change_number,
            results.c.job,
            results.c.value,
            results.c.reported_at,
            results.c.id,
        )
        # The month's merges lead, through their time index, and each reaches its
        # results through ix_results_change: a join left to SQLite's planner scanned
        # every result instead.
        .where(results.c.change_number.in_(recent), results.c.patchset == merged_at_patchset)
        .where(results.c.voting.is_(True))
    )
    if account_id is not None:
        query = query.where(results.c.account_id == account_id)
    return tally_votes(tuple(row) for row in await connection.execute(query))


#: (account id, change, job, value, reported at, result id)
VoteRow = tuple[int, int, str, str, datetime, int]


def tally_votes(rows: Iterable[VoteRow]) -> dict[int, MergedVotes]:
    """The newest result per job is current (a re-run replaces a failure); a change's
    vote is its current final results: passed when none failed; no vote without one."""
    current: dict[tuple[int, int, str], tuple[datetime, int, str]] = {}
    for account, change, job, value, reported_at, id_ in rows:
        key = (account, change, job)
        if key not in current or (reported_at, id_) > current[key][:2]:
            current[key] = (reported_at, id_, value)
    verdicts: dict[tuple[int, int], bool] = {}
    for (account, change, _), (_, _, value) in current.items():
        if not ResultValue(value).final:
            continue
        passed = value == ResultValue.PASSED.value
        verdicts[(account, change)] = verdicts.get((account, change), True) and passed
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (account, _), passed in verdicts.items():
        counts[account][0] += 1
        counts[account][1] += int(passed)
    return {account: MergedVotes(votes, passed) for account, (votes, passed) in counts.items()}
