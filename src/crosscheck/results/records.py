"""Results in the store: ingest (rows, daily counts, last seen) and the history queries."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.results import NewResult, Result, ResultValue
from crosscheck.store.tables import account_projects, ci_accounts, result_daily_counts, results
from crosscheck.store.upsert import upsert

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_number(moment: datetime) -> int:
    """Days since 1970-01-01 in UTC: the daily counts' key."""
    return (moment.astimezone(UTC) - EPOCH).days


def day_start(day: int) -> datetime:
    return EPOCH + timedelta(days=day)


async def insert_results(
    connection: AsyncConnection,
    account_id: int,
    account_name: str,
    items: Sequence[NewResult],
    now: datetime,
) -> list[Result]:
    """Store checked results in the caller's transaction; every derived table moves with them."""
    rows = [_row(account_id, item, now) for item in items]
    inserted = await connection.execute(
        insert(results).returning(results.c.id, sort_by_parameter_order=True), rows
    )
    ids = [row.id for row in inserted]
    await _count_days(connection, account_id, rows)
    await _mark_projects(connection, account_id, rows)
    await _mark_seen(connection, account_id, rows)
    return [
        result_from_row(row | {"id": id_}, account_name) for row, id_ in zip(rows, ids, strict=True)
    ]


def _row(account_id: int, item: NewResult, now: datetime) -> dict[str, Any]:
    return {
        "uuid": uuid.uuid4().hex,
        "account_id": account_id,
        "project": item.project,
        "branch": item.branch,
        "change_number": item.change,
        "patchset": item.patchset,
        "revision": item.revision,
        "job": item.job,
        "value": item.value.value,
        "url": item.url,
        "duration": item.duration,
        "voting": item.voting,
        "category": item.category,
        "rerun": item.rerun,
        "comment": item.comment,
        "reported_at": (item.reported_at or now).astimezone(UTC),
        "received_at": now,
    }


async def _count_days(
    connection: AsyncConnection, account_id: int, rows: Sequence[dict[str, Any]]
) -> None:
    counts = Counter((day_number(r["reported_at"]), r["value"]) for r in rows)
    # Sorted, so concurrent batches lock the same rows in the same order (no deadlock).
    for (day, value), count in sorted(counts.items()):
        await connection.execute(_upsert_count(connection, account_id, day, value, count))


async def _mark_projects(
    connection: AsyncConnection, account_id: int, rows: Sequence[dict[str, Any]]
) -> None:
    latest: dict[str, datetime] = {}
    for row in rows:
        moment = row["reported_at"]
        if row["project"] not in latest or moment > latest[row["project"]]:
            latest[row["project"]] = moment
    # Sorted, as the daily counts: concurrent batches take the rows in the same order.
    for project, moment in sorted(latest.items()):
        statement = upsert(connection, account_projects).values(
            account_id=account_id, project=project, last_reported_at=moment
        )
        newer = statement.excluded.last_reported_at
        kept = account_projects.c.last_reported_at
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=["account_id", "project"],
                # A backfilled older result must not move the time back.
                set_={"last_reported_at": case((kept > newer, kept), else_=newer)},
            )
        )


def _upsert_count(
    connection: AsyncConnection, account_id: int, day: int, value: str, count: int
) -> Any:
    statement = upsert(connection, result_daily_counts).values(
        account_id=account_id, day=day, value=value, count=count
    )
    return statement.on_conflict_do_update(
        index_elements=["account_id", "day", "value"],
        set_={"count": result_daily_counts.c.count + statement.excluded.count},
    )


async def _mark_seen(
    connection: AsyncConnection, account_id: int, rows: Sequence[dict[str, Any]]
) -> None:
    newest = max(r["reported_at"] for r in rows)
    passed = [r["reported_at"] for r in rows if r["value"] == ResultValue.PASSED.value]
    values: dict[str, Any] = {"last_seen": _later(ci_accounts.c.last_seen, newest)}
    if passed:
        values["last_success"] = _later(ci_accounts.c.last_success, max(passed))
    await connection.execute(
        update(ci_accounts).where(ci_accounts.c.id == account_id).values(**values)
    )


def _later(column: Any, moment: datetime) -> Any:
    """The later of the stored time and `moment`: a late backfill never moves it back."""
    return case((column.is_(None), moment), (column < moment, moment), else_=column)


# -- queries -----------------------------------------------------------------


def result_query() -> Select[Any]:
    return select(results, ci_accounts.c.name.label("account")).join(
        ci_accounts, ci_accounts.c.id == results.c.account_id
    )


async def change_history(
    connection: AsyncConnection,
    change: int,
    *,
    patchset: int | None = None,
    account: str | None = None,
    job: str | None = None,
) -> list[Result]:
    """Every result on a change (or one patchset), oldest first."""
    query = result_query().where(results.c.change_number == change)
    if patchset is not None:
        query = query.where(results.c.patchset == patchset)
    if account is not None:
        query = query.where(ci_accounts.c.name == account)
    if job is not None:
        query = query.where(results.c.job == job)
    rows = await connection.execute(query.order_by(results.c.reported_at, results.c.id))
    return [result_from_row(row._mapping, row.account) for row in rows]


async def account_history(
    connection: AsyncConnection, account_id: int, *, limit: int, before: datetime | None
) -> list[Result]:
    """A CI account's results, newest first, `limit` at a time (page with `before`)."""
    query = result_query().where(results.c.account_id == account_id)
    if before is not None:
        query = query.where(results.c.reported_at < before)
    rows = await connection.execute(
        query.order_by(results.c.reported_at.desc(), results.c.id.desc()).limit(limit)
    )
    return [result_from_row(row._mapping, row.account) for row in rows]


async def project_of_change(connection: AsyncConnection, change: int) -> str | None:
    return (
        await connection.execute(
            select(results.c.project).where(results.c.change_number == change).limit(1)
        )
    ).scalar_one_or_none()


async def latest_patchset(connection: AsyncConnection, change: int) -> int | None:
    found = (
        await connection.execute(
            select(func.max(results.c.patchset)).where(results.c.change_number == change)
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


async def patchset_of_revision(
    connection: AsyncConnection, revision: str
) -> tuple[str, int, int] | None:
    """(project, change, patchset) of a commit some result named."""
    row = (
        await connection.execute(
            select(results.c.project, results.c.change_number, results.c.patchset)
            .where(results.c.revision == revision)
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else (row.project, row.change_number, row.patchset)


async def patchsets_of_revision_prefix(
    connection: AsyncConnection, prefix: str, limit: int = 10
) -> list[tuple[str, int, int, str]]:
    """(project, change, patchset, commit) of the commits results named that start with
    `prefix` (lowercase hex): a range on ix_results_revision, on every engine."""
    rows = await connection.execute(
        select(results.c.project, results.c.change_number, results.c.patchset, results.c.revision)
        .where(results.c.revision >= prefix, results.c.revision < prefix + "g")
        .distinct()
        .limit(limit)
    )
    return [
        (row.project, row.change_number, row.patchset, row.revision)
        for row in rows
        if row.revision.startswith(prefix)
    ]


def result_from_row(row: Any, account: str) -> Result:
    return Result(
        id=row["id"],
        uuid=row["uuid"],
        account=account,
        project=row["project"],
        change=row["change_number"],
        patchset=row["patchset"],
        job=row["job"],
        value=ResultValue(row["value"]),
        reported_at=row["reported_at"],
        branch=row["branch"],
        revision=row["revision"],
        url=row["url"],
        duration=row["duration"],
        voting=bool(row["voting"]),
        category=row["category"],
        rerun=bool(row["rerun"]),
        comment=row["comment"],
    )
