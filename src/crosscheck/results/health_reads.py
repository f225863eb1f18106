"""The health table's reads of the derived tables, each one statement and a row per
account (or project): its trend days, the projects it covered, the month's projects.

A month at OpenStack's scale is thousands of (account, day) rows and tens of
thousands of (account, project) pairs; handed over one row each, turning them into
Python objects was most of the table's time. The database joins each account's into
one string instead, which Python splits in C.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.results.reads import DayCounts
from crosscheck.store.tables import (
    account_projects,
    ci_accounts,
    merged_changes,
    reported_projects,
    result_account_days,
    results,
)

#: Joins the projects of an account: results refuse control characters in a project.
_PROJECTS = "\n"
_DAYS = ","


async def days_by_account(
    connection: AsyncConnection, first_day: int, last_day: int, account_id: int | None = None
) -> dict[int, list[DayCounts]]:
    """Passed and final results per UTC day and account from `first_day` to `last_day`,
    oldest first; days without a final result left out."""
    found = await day_counts_by_account(connection, first_day, last_day, account_id)
    return {
        owner: [DayCounts(day, *counts) for day, counts in sorted(days.items())]
        for owner, days in found.items()
    }


async def day_counts_by_account(
    connection: AsyncConnection, first_day: int, last_day: int, account_id: int | None = None
) -> dict[int, dict[int, tuple[int, int]]]:
    """Per account, day number -> (passed, final) from `first_day` to `last_day`; days
    without a final result left out. No object per day: the health table reads 180
    accounts x 30 days on every request."""
    days = result_account_days.c
    final = days.passed + days.failed + days.unstable
    # One flat list of numbers per account, parsed as a JSON array (C, a third faster
    # than split and int): a "day:passed:final" field each, split one by one, was most
    # of this read's time.
    entry = cast(days.day, String) + _DAYS + cast(days.passed, String) + _DAYS
    entry = entry + cast(final, String)
    query = (
        select(days.account_id, func.aggregate_strings(entry, _DAYS))
        .where(days.day >= first_day, days.day <= last_day, final > 0)
        .where(_of(days.account_id, account_id))
        .group_by(days.account_id)
    )
    found: dict[int, dict[int, tuple[int, int]]] = {}
    for owner, joined in await connection.execute(query):
        numbers: list[int] = json.loads(f"[{joined}]")
        pairs = zip(numbers[1::3], numbers[2::3], strict=True)
        found[owner] = dict(zip(numbers[::3], pairs, strict=True))
    return found


@dataclass(frozen=True)
class Covered:
    """The projects an account reported on over a window: how many, and the first few."""

    count: int
    #: The first ones by name (code point order, as Python sorts).
    first: list[str]


async def covered_projects(
    connection: AsyncConnection, since: datetime, listed: int
) -> dict[int, Covered]:
    """Per account, how many projects it reported on since `since` and the first `listed`
    of them by name: on SQLite, each account's part of ix_account_projects_account_time
    is counted, and `listed` names read, instead of every pair handed over."""
    if connection.dialect.name == "postgresql":
        return await _covered_in_one_pass(connection, since, listed)
    pairs = account_projects.c
    account = ci_accounts.alias("account")
    mine = and_(pairs.account_id == account.c.id, pairs.last_reported_at >= since)
    count = (
        select(func.count())
        .select_from(account_projects)
        .where(mine)
        .correlate(account)
        .scalar_subquery()
    )
    first = (
        select(pairs.project)
        .where(mine)
        .order_by(_by_code_point(connection, pairs.project))
        .limit(listed)
        .correlate(account)
        .subquery()
    )
    names = (
        select(func.aggregate_strings(first.c.project, _PROJECTS))
        .correlate(account)
        .scalar_subquery()
    )
    found: dict[int, Covered] = {}
    for owner, how_many, joined in await connection.execute(select(account.c.id, count, names)):
        if how_many:
            found[owner] = Covered(int(how_many), sorted(joined.split(_PROJECTS))[:listed])
    return found


async def _covered_in_one_pass(
    connection: AsyncConnection, since: datetime, listed: int
) -> dict[int, Covered]:
    """`covered_projects` for PostgreSQL: per account, a count and a sort visited a heap
    page per pair (pairs come in over time, scattered): 1 ms an account, 80-200 ms at 5M
    results. One pass over the table, the names joined per account and the first few
    picked here, is 35 ms. Code point order (Python's), whatever the database collation."""
    found: dict[int, Covered] = {}
    for owner, joined in await connection.execute(_joined_projects(since)):
        names = joined.split(_PROJECTS)
        found[owner] = Covered(len(names), heapq.nsmallest(listed, names))
    return found


def _joined_projects(since: datetime, account_id: int | None = None) -> Select[Any]:
    pairs = account_projects.c
    return (
        select(pairs.account_id, func.aggregate_strings(pairs.project, _PROJECTS))
        .where(pairs.last_reported_at >= since)
        .where(_of(pairs.account_id, account_id))
        .group_by(pairs.account_id)
    )


async def reported_projects_since(connection: AsyncConnection, since: datetime) -> list[str]:
    """Every project some account reported on since `since`, by name."""
    recent = select(reported_projects.c.project).where(
        reported_projects.c.last_reported_at >= since
    )
    return sorted(await connection.scalars(recent))


def _by_code_point(connection: AsyncConnection, column: ColumnElement[str]) -> ColumnElement[str]:
    """Names in Python's order: SQLite compares bytes already; PostgreSQL's database
    collation would not (it skips punctuation), its "C" collation does."""
    return column.collate("C") if connection.dialect.name == "postgresql" else column


async def projects_by_account(
    connection: AsyncConnection, since: datetime, account_id: int | None = None
) -> dict[int, list[str]]:
    """The projects each account reported on since `since`, by name."""
    found = await connection.execute(_joined_projects(since, account_id))
    return {owner: sorted(joined.split(_PROJECTS)) for owner, joined in found}


def _of(column: ColumnElement[int], account_id: int | None) -> ColumnElement[bool]:
    """`column` is the account's, or true when every account is asked for."""
    return true() if account_id is None else column == account_id


async def health_version(connection: AsyncConnection) -> tuple[Any, ...]:
    """What the health table was read from, in a few index lookups: the newest result,
    the last account change and how many accounts there are, the newest merge. A merge
    recorded with an older time, or a result committed out of id order, is not seen
    here; the table's snapshots are refreshed with time as well."""
    newest = (
        select(func.max(results.c.id)).scalar_subquery(),
        select(func.max(ci_accounts.c.updated_at)).scalar_subquery(),
        select(func.count()).select_from(ci_accounts).scalar_subquery(),
        select(func.max(merged_changes.c.merged_at)).scalar_subquery(),
    )
    return tuple((await connection.execute(select(*newest))).one())
