"""What CI accounts did, as the health table and an account's page show it, each view
read in one connection: every account's activity over a window, and one account's
with a page of its history and its passed and final results per day.

Model objects only: the store's account ids stay in results/.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.model.results import AccountStatistics, CIAccount, Result
from crosscheck.results.errors import AccountNotFoundError
from crosscheck.results.health_reads import (
    Covered,
    covered_projects,
    day_counts_by_account,
    days_by_account,
    health_version,
    projects_by_account,
    reported_projects_since,
)
from crosscheck.results.merges import MergedVotes, merged_votes
from crosscheck.results.reads import (
    Cursor,
    DayCounts,
    account_named,
    accounts_by_id,
    history_page,
    latest_results,
)
from crosscheck.results.records import day_number
from crosscheck.results.statistics import statistics


@dataclass(frozen=True)
class Activity:
    """One CI account over a window of days: its statistics and what a health row adds."""

    account: CIAccount
    statistics: AccountStatistics
    #: The projects it reported on over the window, by name: every one, or the first
    #: few when fewer were asked for.
    projects: Sequence[str]
    #: How many projects it reported on over the window.
    project_count: int
    #: Its votes on the changes merged over the window.
    merged: MergedVotes
    latest: Result | None
    #: Day number -> (passed, final results) over the window; days without one left out.
    daily: Mapping[int, tuple[int, int]]


@dataclass(frozen=True)
class AccountActivity:
    """One CI account's page: its activity, a page of its history, its daily success."""

    activity: Activity
    #: Newest first.
    history: list[Result]
    #: Where the next, older history page starts; None on the last page.
    next_page: Cursor | None
    #: Passed and final results per UTC day, over the days asked for apart from the window.
    daily: list[DayCounts]


class ActivityReads:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def every(
        self, now: datetime, window_days: int, *, listed: int | None = None
    ) -> list[Activity]:
        """Every account's activity over the `window_days` days up to `now`, by name;
        with `listed`, the first `listed` projects of each (by name) and their count,
        not all of them."""
        async with self.engine.connect() as connection:
            return await _activity(connection, now, window_days, listed=listed)

    async def version(self) -> tuple[Any, ...]:
        """Moves when a result, an account or a merge is written (`health_version`)."""
        async with self.engine.connect() as connection:
            return await health_version(connection)

    async def projects(self, now: datetime, window_days: int) -> list[str]:
        """Every project some account reported on over the window, by name."""
        async with self.engine.connect() as connection:
            return await reported_projects_since(connection, now - timedelta(days=window_days))

    async def of_account(
        self,
        name: str,
        now: datetime,
        window_days: int,
        *,
        page_size: int,
        before: Cursor | None,
        daily_days: int,
    ) -> AccountActivity:
        """One account's activity, `page_size` results older than `before` (newest
        first), and its results per day over the `daily_days` days up to `now`."""
        async with self.engine.connect() as connection:
            found = await account_named(connection, name)
            if found is None:
                raise AccountNotFoundError(f"no CI account named {name!r}")
            account_id, _ = found
            (activity,) = await _activity(connection, now, window_days, account_id)
            history, next_page = await history_page(connection, account_id, page_size, before)
            last = day_number(now)
            days = await days_by_account(connection, last - daily_days + 1, last, account_id)
            daily = days.get(account_id, [])
        return AccountActivity(activity, history, next_page, daily)


async def _activity(
    connection: AsyncConnection,
    now: datetime,
    window_days: int,
    only: int | None = None,
    *,
    listed: int | None = None,
) -> list[Activity]:
    """Every account's activity, or account `only`'s (its page shows the same row)."""
    since = now - timedelta(days=window_days)
    last = day_number(now)
    days = (last - window_days + 1, last)
    accounts = await accounts_by_id(connection, only)
    every = await statistics(connection, now, only, accounts)
    votes = await merged_votes(connection, since, only)
    projects = await _projects(connection, since, only, listed)
    daily = await day_counts_by_account(connection, *days, only)
    latest = await latest_results(connection, only)
    ids = {account.name: id_ for id_, account in accounts.items()}
    found = []
    for stats in every:
        id_ = ids[stats.account]
        found.append(
            Activity(
                account=accounts[id_],
                statistics=stats,
                projects=projects.get(id_, _NONE).first,
                project_count=projects.get(id_, _NONE).count,
                merged=votes.get(id_, MergedVotes()),
                latest=latest.get(id_),
                daily=daily.get(id_, {}),
            )
        )
    return found


_NONE = Covered(0, [])


async def _projects(
    connection: AsyncConnection, since: datetime, only: int | None, listed: int | None
) -> dict[int, Covered]:
    """The projects of each account: the first `listed` and their count when the page
    lists no more (a month at OpenStack's scale is ~90K pairs), else every one."""
    if listed is not None and only is None:
        return await covered_projects(connection, since, listed)
    found = await projects_by_account(connection, since, only)
    return {owner: Covered(len(names), names) for owner, names in found.items()}
