"""Results in the store: ingest (rows; the database keeps what derives from them) and the
history queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Insert, Select, bindparam, exists, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.results import NewResult, Result, ResultValue
from crosscheck.results.tokens import Verified
from crosscheck.store.tables import ci_accounts, ci_tokens, results

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
    """Store checked results in the caller's transaction, in one INSERT: the derived
    tables (daily counts, the account's days and projects, last seen and last success)
    move with them through the trigger of migration 0105, in the same statement."""
    rows = [_row(account_id, item, now) for item in items]
    statement = insert(results).returning(results.c.id, results.c.uuid)
    # One multi-row INSERT per batch, ids matched to rows by their uuid: asked to return
    # them in parameter order instead, SQLAlchemy inserted SQLite's rows one at a time.
    inserted = await connection.execute(statement, rows[0] if len(rows) == 1 else rows)
    ids = {row.uuid: row.id for row in inserted}
    return [result_from_row(row | {"id": ids[row["uuid"]]}, account_name) for row in rows]


async def insert_confirmed(
    connection: AsyncConnection, caller: Verified, item: NewResult, now: datetime
) -> Result | None:
    """Store one checked result for an account as `caller` remembers it, in one statement
    that also confirms it: stored only while the token is live and the account enabled
    with the same projects. None, and nothing stored, when either changed since."""
    row = _row(caller.account_id, item, now)
    guard = {"token_hash": caller.token_hash, "projects_json": caller.projects_json}
    inserted = await connection.execute(_CONFIRMED_INSERT, row | guard)
    found = inserted.scalar_one_or_none()
    if found is None:
        return None
    return result_from_row(row | {"id": found}, caller.account.name)


_COLUMNS = (
    "uuid", "account_id", "project", "branch", "change_number", "patchset", "revision", "job",
    "value", "url", "duration", "voting", "category", "rerun", "comment", "reported_at",
    "received_at",
)  # fmt: skip


def _confirmed_insert() -> Insert:
    """INSERT ... SELECT the row's values WHERE the token is live and the account as
    remembered; built once (SQLAlchemy caches its SQL by shape, not by values)."""
    live = exists().where(
        ci_tokens.c.token_hash == bindparam("token_hash"),
        ci_tokens.c.revoked_at.is_(None),
        ci_tokens.c.account_id == bindparam("account_id"),
        ci_accounts.c.id == ci_tokens.c.account_id,
        ci_accounts.c.enabled.is_(true()),
        ci_accounts.c.allowed_projects == bindparam("projects_json"),
    )
    values = select(*(bindparam(name, type_=results.c[name].type) for name in _COLUMNS))
    return insert(results).from_select(list(_COLUMNS), values.where(live)).returning(results.c.id)


_CONFIRMED_INSERT = _confirmed_insert()


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
