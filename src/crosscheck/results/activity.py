"""What CI accounts did, as the health table and an account's page show it, each view
read in one connection: every account's activity over a window, and one account's
with a page of its history and its passed and final results per day.

Model objects only: the store's account ids stay in results/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.model.results import AccountStatistics, CIAccount, Result
from crosscheck.results.errors import AccountNotFoundError
from crosscheck.results.merges import MergedVotes, merged_votes
from crosscheck.results.reads import (
    Cursor,
    DayCounts,
    account_named,
    accounts_by_id,
    daily_counts,
    daily_counts_by_account,
    history_page,
    latest_results,
    projects_by_account,
)
from crosscheck.results.records import day_number
from crosscheck.results.statistics import statistics


@dataclass(frozen=True)
class Activity:
    """One CI account over a window of days: its statistics and what a health row adds."""

    account: CIAccount
    statistics: AccountStatistics
    #: The projects it reported on over the window, by name.
    projects: Sequence[str]
    #: Its votes on the changes merged over the window.
    merged: MergedVotes
    latest: Result | None
    #: Passed and final results per UTC day of the window; days without one left out.
    daily: list[DayCounts]


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

    async def every(self, now: datetime, window_days: int) -> list[Activity]:
        """Every account's activity over the `window_days` days up to `now`, by name."""
        async with self.engine.connect() as connection:
            return await _activity(connection, now, window_days)

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
            daily = await daily_counts(connection, account_id, last - daily_days + 1, last)
        return AccountActivity(activity, history, next_page, daily)


async def _activity(
    connection: AsyncConnection, now: datetime, window_days: int, only: int | None = None
) -> list[Activity]:
    """Every account's activity, or account `only`'s (its page shows the same row)."""
    since = now - timedelta(days=window_days)
    last = day_number(now)
    every = await statistics(connection, now, only)
    accounts = await accounts_by_id(connection, only)
    votes = await merged_votes(connection, since, only)
    # One plain read of the (account, project) pairs: measured faster on SQLite than
    # ranking a dozen per account in SQL, and the health table's filter needs them all.
    projects = await projects_by_account(connection, since, only)
    daily = await daily_counts_by_account(connection, last - window_days + 1, last, only)
    latest = await latest_results(connection, only)
    ids = {account.name: id_ for id_, account in accounts.items()}
    found = []
    for stats in every:
        id_ = ids[stats.account]
        found.append(
            Activity(
                account=accounts[id_],
                statistics=stats,
                projects=projects.get(id_, ()),
                merged=votes.get(id_, MergedVotes()),
                latest=latest.get(id_),
                daily=daily.get(id_, []),
            )
        )
    return found
