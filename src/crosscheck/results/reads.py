"""The SQL behind the health table, an account's page and a change's page, each read one
statement on the caller's connection: the accounts, keyset history pages, each account's
newest result, and a change's current results. The health table's reads of the derived
tables (days, projects) are in health_reads.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.results import CIAccount, Result, ResultValue, runs_of
from crosscheck.results.accounts import account_from_row
from crosscheck.results.records import result_from_row, result_query
from crosscheck.store.tables import ci_accounts, results


async def accounts_by_id(
    connection: AsyncConnection, account_id: int | None = None
) -> dict[int, CIAccount]:
    """Every account (or account `account_id`), by its id in the store."""
    query = select(ci_accounts)
    if account_id is not None:
        query = query.where(ci_accounts.c.id == account_id)
    return {row.id: account_from_row(row._mapping) for row in await connection.execute(query)}


async def account_named(connection: AsyncConnection, name: str) -> tuple[int, CIAccount] | None:
    """The account's id and the account, or None when no account has that name."""
    row = (
        await connection.execute(select(ci_accounts).where(ci_accounts.c.name == name))
    ).one_or_none()
    return None if row is None else (row.id, account_from_row(row._mapping))


@dataclass(frozen=True)
class Cursor:
    """Where a history page starts: strictly older than this (time, id)."""

    reported_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.reported_at.isoformat()}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        moment, _, id_ = text.rpartition("~")
        try:
            parsed = datetime.fromisoformat(moment)
            number = int(id_)
        except ValueError:
            raise ValueError(
                f"page cursor {text!r} is malformed: follow the page's links"
            ) from None
        if parsed.tzinfo is None:
            raise ValueError(f"page cursor {text!r} lacks a time zone: follow the page's links")
        return cls(parsed, number)


async def history_page(
    connection: AsyncConnection, account_id: int, limit: int, cursor: Cursor | None
) -> tuple[list[Result], Cursor | None]:
    """Up to `limit` results newest first, and the cursor of the next page if there is one.

    Keyset paging on (reported_at, id) reads through the (account, time) index, so
    page 1,000 costs what page 1 does, and ties in time never skip a result.
    """
    query = result_query().where(results.c.account_id == account_id)
    if cursor is not None:
        query = query.where(
            or_(
                results.c.reported_at < cursor.reported_at,
                and_(results.c.reported_at == cursor.reported_at, results.c.id < cursor.id),
            )
        )
    query = query.order_by(results.c.reported_at.desc(), results.c.id.desc()).limit(limit + 1)
    rows = list(await connection.execute(query))
    found = [result_from_row(row._mapping, row.account) for row in rows[:limit]]
    more = len(rows) > limit
    return found, Cursor(found[-1].reported_at, found[-1].id) if more else None


@dataclass(frozen=True)
class DayCounts:
    #: Days since 1970-01-01, UTC.
    day: int
    passed: int
    final: int


async def latest_results(
    connection: AsyncConnection, account_id: int | None = None
) -> dict[int, Result]:
    """Each account's newest result, in one statement: a correlated subquery per
    account walks the (account, time) index to its end."""
    scanned, account = results.alias("scanned"), ci_accounts.alias("account")
    newest = (
        select(scanned.c.id)
        .where(scanned.c.account_id == account.c.id)
        .order_by(scanned.c.reported_at.desc(), scanned.c.id.desc())
        .limit(1)
        .correlate(account)
        .scalar_subquery()
    )
    newest_ids = select(newest).select_from(account).where(_of(account.c.id, account_id))
    query = result_query().where(results.c.id.in_(newest_ids))
    rows = await connection.execute(query)
    return {row.account_id: result_from_row(row._mapping, row.account) for row in rows}


def _of(column: ColumnElement[int], account_id: int | None) -> ColumnElement[bool]:
    """`column` is the account's, or true when every account is asked for."""
    return true() if account_id is None else column == account_id


class CurrentRun(NamedTuple):
    """The current (newest) result of one job of one CI account on one patchset: a cell of
    the change page, as the database hands it over (a tuple: no object per field)."""

    id: int
    account: str
    job: str
    patchset: int
    #: A `ResultValue`'s value.
    value: str
    reported_at: datetime
    duration: float | None
    url: str | None
    voting: bool
    comment: str | None
    #: Times this job ran on this patchset (`runs_of`): a job reported running and then
    #: finished ran once.
    runs: int


class ChangeVersion(NamedTuple):
    """Which results a change has: results are only ever added, never changed or removed,
    so a new one changes the count or the highest id (ids of transactions that commit
    out of order still add to the count)."""

    results: int
    newest_id: int


@dataclass(frozen=True)
class ChangeResults:
    """A change's current results, as its page shows them."""

    #: The project of the change's newest result.
    project: str
    #: One per (patchset, account, job), in no particular order.
    current: list[CurrentRun]
    version: ChangeVersion


# Built once, the change a bound parameter: each read skips building the statement and
# its cache key.
_CHANGE_ROWS = (
    select(
        results.c.id,
        ci_accounts.c.name,
        results.c.job,
        results.c.patchset,
        results.c.value,
        results.c.reported_at,
        results.c.duration,
        results.c.url,
        results.c.voting,
        results.c.comment,
        results.c.project,
    )
    .join(ci_accounts, ci_accounts.c.id == results.c.account_id)
    .where(results.c.change_number == bindparam("change"))
    .order_by(results.c.reported_at, results.c.id)
)
_CHANGE_VERSION = select(func.count(), func.max(results.c.id)).where(
    results.c.change_number == bindparam("change")
)


_IN_PROGRESS = ResultValue.IN_PROGRESS.value


async def change_results(connection: AsyncConnection, change: int) -> ChangeResults | None:
    """A change's current results with their run counts; None when it has none.

    One pass over the change's rows, oldest first (by time, then id): a later row
    replaces an earlier one of its (patchset, account, job), as `current_results`
    decides. Choosing them in SQL instead (row_number() over the key) took SQLite three
    times as long on a 1,000-result change; ix_results_change finds the rows.
    """
    rows = (await connection.execute(_CHANGE_ROWS, {"change": change})).all()
    if not rows:
        return None
    newest: dict[tuple[int, str, str], Sequence[Any]] = {}
    counted: dict[tuple[int, str, str], int] = {}
    for row in rows:
        key = (row[3], row[1], row[2])  # (patchset, account, job)
        newest[key] = row
        counted[key] = counted.get(key, 0) + (row[4] != _IN_PROGRESS)
    current = [
        CurrentRun._make((*row[:-1], runs_of(counted[key], row[4]))) for key, row in newest.items()
    ]
    version = ChangeVersion(len(rows), max(row[0] for row in rows))
    return ChangeResults(project=rows[-1][-1], current=current, version=version)


async def change_version(connection: AsyncConnection, change: int) -> ChangeVersion | None:
    """`ChangeResults.version` alone, from the index (SQLite) without reading the rows:
    enough to answer a client whose copy is current. None when the change has none."""
    count, newest_id = (await connection.execute(_CHANGE_VERSION, {"change": change})).one()
    return None if not count else ChangeVersion(count, newest_id)


async def info_urls(connection: AsyncConnection) -> tuple[tuple[str, str], ...]:
    """Every CI account's name and info URL, by name: the links of the Checks tab, whose
    kept answers are current while these are."""
    rows = await connection.execute(
        select(ci_accounts.c.name, ci_accounts.c.info_url).order_by(ci_accounts.c.name)
    )
    return tuple((row.name, row.info_url) for row in rows)
