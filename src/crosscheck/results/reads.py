"""The SQL behind the health table and an account's page, each read one statement on the
caller's connection: the accounts, keyset history pages, passed and final results per
UTC day, the projects each account reported on, and each account's newest result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.results import CIAccount, Result, ResultValue
from crosscheck.results.accounts import account_from_row
from crosscheck.results.records import result_from_row, result_query
from crosscheck.store.tables import account_projects, ci_accounts, result_daily_counts, results


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


async def daily_counts(
    connection: AsyncConnection, account_id: int, first_day: int, last_day: int
) -> list[DayCounts]:
    """Passed and final results per UTC day of one account (days with none left out)."""
    found = await daily_counts_by_account(connection, first_day, last_day, account_id)
    return found.get(account_id, [])


async def daily_counts_by_account(
    connection: AsyncConnection, first_day: int, last_day: int, account_id: int | None = None
) -> dict[int, list[DayCounts]]:
    """`daily_counts` of every account at once (the health table's trends), summed by
    the database: one row per account and day, not per value."""
    count = result_daily_counts.c.count
    value = result_daily_counts.c.value
    final = [v.value for v in ResultValue if v.final]
    query = (
        select(
            result_daily_counts.c.account_id,
            result_daily_counts.c.day,
            func.sum(case((value == ResultValue.PASSED.value, count), else_=0)),
            func.sum(case((value.in_(final), count), else_=0)),
        )
        .where(result_daily_counts.c.day >= first_day, result_daily_counts.c.day <= last_day)
        .where(_of(result_daily_counts.c.account_id, account_id))
        .group_by(result_daily_counts.c.account_id, result_daily_counts.c.day)
        .order_by(result_daily_counts.c.account_id, result_daily_counts.c.day)
    )
    found: dict[int, list[DayCounts]] = {}
    for owner, day, passed, finished in await connection.execute(query):
        if finished:
            found.setdefault(owner, []).append(DayCounts(day, int(passed), int(finished)))
    return found


async def projects_by_account(
    connection: AsyncConnection, since: datetime, account_id: int | None = None
) -> dict[int, list[str]]:
    """The projects each account reported on since `since`, by name (from the table
    each report keeps, not from the results themselves)."""
    query = (
        select(account_projects.c.account_id, account_projects.c.project)
        .where(account_projects.c.last_reported_at >= since)
        .where(_of(account_projects.c.account_id, account_id))
        .order_by(account_projects.c.account_id, account_projects.c.project)
    )
    found: dict[int, list[str]] = {}
    for owner, project in await connection.execute(query):
        found.setdefault(owner, []).append(project)
    return found


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
