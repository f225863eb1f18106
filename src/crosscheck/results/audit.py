"""The audit trail: admins' actions on CI accounts, written in the transaction of the action.

Tokens never enter it: a rotation says that it happened, not what the token is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.model.results import AuditAction, AuditEvent
from crosscheck.store.tables import audit_events

#: The actor of changes made by crosscheck itself (a default, for callers that name none).
SYSTEM = "crosscheck"
#: The longest detail kept; the rest is cut.
MAX_DETAIL = 2000


async def record(
    connection: AsyncConnection,
    actor: str,
    action: AuditAction,
    account: str,
    detail: str = "",
    *,
    now: datetime | None = None,
) -> None:
    await connection.execute(
        insert(audit_events).values(
            at=now or datetime.now(UTC),
            actor=actor[:200],
            action=action.value,
            account=account[:100],
            detail=detail[:MAX_DETAIL],
        )
    )


async def audit_trail(
    engine: AsyncEngine,
    *,
    limit: int = 100,
    before: int | None = None,
    account: str | None = None,
) -> list[AuditEvent]:
    """Newest first; page with `before` the last event's id."""
    query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_events.c.id < before)
    if account is not None:
        query = query.where(audit_events.c.account == account)
    async with engine.connect() as connection:
        rows = await connection.execute(query)
        return [_event(row._mapping) for row in rows]


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        id=int(row["id"]),
        at=row["at"],
        actor=row["actor"],
        action=AuditAction(row["action"]),
        account=row["account"],
        detail=row["detail"],
    )


def actor_of(*, admin_token: bool, account: str | None) -> str:
    """How an API caller is named in the trail."""
    if account is not None:
        return f"CI account {account}"
    return "admin token" if admin_token else "anonymous"
