"""Per CI account statistics over 24 h, 7 d and 30 d, exact to the second but cheap.

A window [now - W, now] is split into whole UTC days, summed from
`result_daily_counts` (at most 31 rows per account and value), and the part of
its first day, counted from `results` through the `reported_at` index (at most a
day of results). A month at OpenStack's scale is ~300K results; this reads a few
thousand rows instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.results import (
    WINDOWS,
    AccountStatistics,
    CIAccount,
    ResultValue,
    WindowCounts,
)
from crosscheck.results.accounts import account_from_row
from crosscheck.results.records import day_number, day_start
from crosscheck.store.tables import ci_accounts, result_daily_counts, results

#: (account id, window name, value) -> count
_Tally = dict[tuple[int, str, str], int]


async def statistics(
    connection: AsyncConnection, now: datetime, account_id: int | None = None
) -> list[AccountStatistics]:
    """Every account's statistics (or one account's), by account name."""
    tally: _Tally = defaultdict(int)
    await _whole_days(connection, now, account_id, tally)
    for name, length in WINDOWS.items():
        await _first_day(connection, name, now - length, account_id, tally)
    query = select(ci_accounts).order_by(ci_accounts.c.name)
    if account_id is not None:
        query = query.where(ci_accounts.c.id == account_id)
    accounts = [(row.id, account_from_row(row._mapping)) for row in await connection.execute(query)]
    return [_statistics(id_, account, tally) for id_, account in accounts]


async def _whole_days(
    connection: AsyncConnection, now: datetime, account_id: int | None, tally: _Tally
) -> None:
    # A day counts whole when it starts inside the window: day > the window's first day.
    first_days = {name: day_number(now - length) for name, length in WINDOWS.items()}
    sums = [
        func.sum(case((result_daily_counts.c.day > first, result_daily_counts.c.count), else_=0))
        for first in first_days.values()
    ]
    query = (
        select(result_daily_counts.c.account_id, result_daily_counts.c.value, *sums)
        .where(result_daily_counts.c.day > min(first_days.values()))
        .group_by(result_daily_counts.c.account_id, result_daily_counts.c.value)
    )
    if account_id is not None:
        query = query.where(result_daily_counts.c.account_id == account_id)
    for row in await connection.execute(query):
        for name, count in zip(first_days, row[2:], strict=True):
            tally[(row[0], name, row[1])] += int(count or 0)


async def _first_day(
    connection: AsyncConnection,
    name: str,
    start: datetime,
    account_id: int | None,
    tally: _Tally,
) -> None:
    end = day_start(day_number(start) + 1)
    query = (
        select(results.c.account_id, results.c.value, func.count())
        .where(results.c.reported_at >= start, results.c.reported_at < end)
        .group_by(results.c.account_id, results.c.value)
    )
    if account_id is not None:
        query = query.where(results.c.account_id == account_id)
    for row in await connection.execute(query):
        tally[(row[0], name, row[1])] += int(row[2])


def _statistics(
    account_id: int, account: CIAccount, tally: Mapping[tuple[int, str, str], int]
) -> AccountStatistics:
    windows = {
        name: WindowCounts(
            {
                value: tally[(account_id, name, value.value)]
                for value in ResultValue
                if tally.get((account_id, name, value.value))
            }
        )
        for name in WINDOWS
    }
    return AccountStatistics(
        account=account.name,
        windows=windows,
        last_seen=account.last_seen,
        last_success=account.last_success,
        enabled=account.enabled,
    )
