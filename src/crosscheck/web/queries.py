"""The reads the pages need beyond the service's: keyset history pages and daily success."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.results import Result, ResultValue
from crosscheck.results.records import _result, result_query
from crosscheck.store.tables import result_daily_counts, results


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
    found = [_result(row._mapping, row.account) for row in rows[:limit]]
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
    """Passed and final results per UTC day, from the daily counts (one row per day and value)."""
    query = select(
        result_daily_counts.c.day, result_daily_counts.c.value, result_daily_counts.c.count
    ).where(
        result_daily_counts.c.account_id == account_id,
        result_daily_counts.c.day >= first_day,
        result_daily_counts.c.day <= last_day,
    )
    passed: dict[int, int] = {}
    final: dict[int, int] = {}
    for day, value, count in await connection.execute(query):
        if ResultValue(value).final:
            final[day] = final.get(day, 0) + count
        if value == ResultValue.PASSED.value:
            passed[day] = passed.get(day, 0) + count
    return [DayCounts(day, passed.get(day, 0), final[day]) for day in sorted(final)]


async def daily_counts_by_account(
    connection: AsyncConnection, first_day: int, last_day: int
) -> dict[int, list[DayCounts]]:
    """`daily_counts` of every account at once (the health table's trends)."""
    query = select(
        result_daily_counts.c.account_id,
        result_daily_counts.c.day,
        result_daily_counts.c.value,
        result_daily_counts.c.count,
    ).where(result_daily_counts.c.day >= first_day, result_daily_counts.c.day <= last_day)
    counts: dict[tuple[int, int], list[int]] = {}
    for account_id, day, value, count in await connection.execute(query):
        passed_final = counts.setdefault((account_id, day), [0, 0])
        if value == ResultValue.PASSED.value:
            passed_final[0] += count
        if ResultValue(value).final:
            passed_final[1] += count
    found: dict[int, list[DayCounts]] = {}
    for (account_id, day), (passed, final) in sorted(counts.items()):
        if final:
            found.setdefault(account_id, []).append(DayCounts(day, passed, final))
    return found


async def projects_by_account(connection: AsyncConnection, since: datetime) -> dict[int, list[str]]:
    """The projects each account reported on since `since`, by name."""
    query = (
        select(results.c.account_id, results.c.project)
        .where(results.c.reported_at >= since)
        .distinct()
    )
    found: dict[int, list[str]] = {}
    for account_id, project in await connection.execute(query):
        found.setdefault(account_id, []).append(project)
    return {account_id: sorted(names) for account_id, names in found.items()}


async def latest_result(connection: AsyncConnection, account_id: int) -> Result | None:
    """An account's newest result: one row through the (account, time) index."""
    query = (
        result_query()
        .where(results.c.account_id == account_id)
        .order_by(results.c.reported_at.desc(), results.c.id.desc())
        .limit(1)
    )
    row = (await connection.execute(query)).first()
    return None if row is None else _result(row._mapping, row.account)
