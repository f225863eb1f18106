"""Per CI account statistics over 24 h, 7 d and 30 d, exact to the second but cheap.

A window [now - W, now] is split into whole UTC days, summed from
`result_account_days` (at most 31 rows per account, a column per value), and the
part of its first day, counted from `results` through the covering
`ix_results_time_account_value` index. A month at OpenStack's scale is ~300K
results; this reads a few thousand rows instead.

The whole days are summed over disjoint ranges (today; the rest of the week; the
rest of the month), a plain sum per column, and added up here: one sum per window
and column in SQL cost twice as much. The part of a first day is counted on the
shorter side of the window's start: the part after it, or the whole day (from
`result_account_days`) less the part before it, at most half a day of results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, union_all
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
from crosscheck.store.tables import ci_accounts, result_account_days, results

#: The values as stored, looked up once (an enum member's `.value` is a descriptor call).
_VALUES = tuple(value.value for value in ResultValue)
_MEMBERS = tuple(zip(ResultValue, _VALUES, strict=True))
#: account id -> per window (shortest first), the count of each value (in _VALUES order)
_Tally = dict[int, list[list[int]]]
_INDEX = {value: index for index, value in enumerate(_VALUES)}
#: The windows, shortest first: each range of whole days counts for it and the longer ones.
_SHORTEST_FIRST = sorted(WINDOWS, key=lambda name: WINDOWS[name])


async def statistics(
    connection: AsyncConnection,
    now: datetime,
    account_id: int | None = None,
    accounts: Mapping[int, CIAccount] | None = None,
) -> list[AccountStatistics]:
    """Every account's statistics (or one account's), by account name; `accounts`, when
    the caller read them already (by id, every one or account `account_id`)."""
    tally: _Tally = defaultdict(_no_counts)
    firsts = {name: _first_day(now, name) for name in WINDOWS}
    await _whole_days(connection, firsts, account_id, tally)
    await _first_days(connection, now, firsts, account_id, tally)
    if accounts is None:
        accounts = await _accounts(connection, account_id)
    ordered = sorted(accounts.items(), key=lambda item: item[1].name)
    return [_statistics(id_, account, tally) for id_, account in ordered]


def _no_counts() -> list[list[int]]:
    return [[0] * len(_VALUES) for _ in WINDOWS]


def _first_day(now: datetime, name: str) -> int:
    return day_number(now - WINDOWS[name])


async def _accounts(connection: AsyncConnection, account_id: int | None) -> dict[int, CIAccount]:
    query = select(ci_accounts)
    if account_id is not None:
        query = query.where(ci_accounts.c.id == account_id)
    return {row.id: account_from_row(row._mapping) for row in await connection.execute(query)}


def _day_sums(range_: ColumnElement[bool], tag: int, account_id: int | None) -> Select[Any]:
    days = result_account_days.c
    query = (
        select(
            literal_column(str(tag)), days.account_id, *(func.sum(days[value]) for value in _VALUES)
        )
        .where(range_)
        .group_by(days.account_id)
    )
    return query if account_id is None else query.where(days.account_id == account_id)


async def _whole_days(
    connection: AsyncConnection, firsts: Mapping[str, int], account_id: int | None, tally: _Tally
) -> None:
    # A day counts whole when it starts inside the window: day > the window's first day.
    # Range i is (first day of window i, first day of window i - 1]: it counts for
    # window i and every longer one.
    day = result_account_days.c.day
    ranges = []
    for index, name in enumerate(_SHORTEST_FIRST):
        range_ = day > firsts[name]
        if index:
            range_ = range_ & (day <= firsts[_SHORTEST_FIRST[index - 1]])
        ranges.append(_day_sums(range_, index, account_id))
    for row in await connection.execute(union_all(*ranges)):
        tag, windows, counts = row[0], tally[row[1]], [int(n or 0) for n in row[2:]]
        for index in range(tag, len(windows)):
            windows[index] = [a + b for a, b in zip(windows[index], counts, strict=True)]


async def _first_days(
    connection: AsyncConnection,
    now: datetime,
    firsts: Mapping[str, int],
    account_id: int | None,
    tally: _Tally,
) -> None:
    """Adds the part of each window's first day that lies inside the window."""
    parts = []
    whole: list[str] = []  # windows counted as their whole first day less the part before
    for tag, name in enumerate(_SHORTEST_FIRST):
        start = now - WINDOWS[name]
        began, ended = day_start(firsts[name]), day_start(firsts[name] + 1)
        if ended - start <= start - began:
            parts.append(_counted(start, ended, tag, account_id))
        else:
            parts.append(_counted(began, start, tag, account_id))
            whole.append(name)
    if whole:
        await _whole_first_days(connection, firsts, whole, account_id, tally)
    for tag, owner, value, count in await connection.execute(union_all(*parts)):
        less = _SHORTEST_FIRST[tag] in whole
        tally[owner][tag][_INDEX[value]] += -int(count) if less else int(count)


def _counted(since: datetime, until: datetime, tag: int, account_id: int | None) -> Select[Any]:
    if account_id is None:
        # `+ 0`: grouped by the bare column, SQLite's planner walked each account's
        # part of ix_results_account_time and visited every row for its value (25 ms
        # at 5M results); by an expression, it reads ix_results_time_account_value
        # alone (4 ms).
        owner = (results.c.account_id + 0).label("owner")
    else:
        owner = results.c.account_id.label("owner")
    query = (
        select(literal_column(str(tag)), owner, results.c.value, func.count())
        .where(results.c.reported_at >= since, results.c.reported_at < until)
        .group_by(owner, results.c.value)
    )
    return query if account_id is None else query.where(results.c.account_id == account_id)


async def _whole_first_days(
    connection: AsyncConnection,
    firsts: Mapping[str, int],
    names: list[str],
    account_id: int | None,
    tally: _Tally,
) -> None:
    days = result_account_days.c
    window_of = {firsts[name]: _SHORTEST_FIRST.index(name) for name in names}
    query = select(days.day, days.account_id, *(days[value] for value in _VALUES)).where(
        days.day.in_(list(window_of))
    )
    if account_id is not None:
        query = query.where(days.account_id == account_id)
    for row in await connection.execute(query):
        counts = tally[row[1]]
        tag = window_of[row[0]]
        counts[tag] = [a + int(b) for a, b in zip(counts[tag], row[2:], strict=True)]


def _statistics(account_id: int, account: CIAccount, tally: _Tally) -> AccountStatistics:
    counts = tally.get(account_id) or _no_counts()
    windows = {
        name: WindowCounts(
            {member: n for (member, _), n in zip(_MEMBERS, counts[tag], strict=True) if n}
        )
        for tag, name in enumerate(_SHORTEST_FIRST)
    }
    return AccountStatistics(
        account=account.name,
        windows={name: windows[name] for name in WINDOWS},
        last_seen=account.last_seen,
        last_success=account.last_success,
        enabled=account.enabled,
    )
