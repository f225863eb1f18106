"""Publications in the store: the one door to the `publications` table.

A publication is written in the promotion's own transaction, so each promotion that
must publish has exactly one; the publisher marks it done, or puts it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.promotion import PromotionRecord
from crosscheck.store.promotion import records_by_id
from crosscheck.store.tables import publications

PENDING, DONE = "pending", "done"


@dataclass(frozen=True)
class Publication:
    promotion: PromotionRecord
    attempts: int
    next_at: datetime


async def add_publication(db: AsyncConnection, promotion_id: int, at: datetime) -> None:
    await db.execute(
        publications.insert().values(
            promotion_id=promotion_id, state=PENDING, attempts=0, next_at=at, last_error=""
        )
    )


async def due(db: AsyncConnection, now: datetime, limit: int = 20) -> list[Publication]:
    """Pending publications whose time came, oldest promotion first."""
    rows = (
        await db.execute(
            select(publications)
            .where(publications.c.state == PENDING, publications.c.next_at <= now)
            .order_by(publications.c.promotion_id)
            .limit(limit)
        )
    ).all()
    records = await records_by_id(db, [row.promotion_id for row in rows])
    return [Publication(records[row.promotion_id], int(row.attempts), row.next_at) for row in rows]


async def next_due(db: AsyncConnection) -> datetime | None:
    """When the earliest pending publication is due; None when none is pending."""
    row = (
        await db.execute(
            select(publications.c.next_at)
            .where(publications.c.state == PENDING)
            .order_by(publications.c.next_at)
            .limit(1)
        )
    ).first()
    return row.next_at if row is not None else None


async def published(db: AsyncConnection, promotion_id: int, at: datetime) -> None:
    await db.execute(
        update(publications)
        .where(publications.c.promotion_id == promotion_id)
        .values(state=DONE, done_at=at, last_error="")
    )


async def put_off(db: AsyncConnection, promotion_id: int, until: datetime, error: str) -> None:
    await db.execute(
        update(publications)
        .where(publications.c.promotion_id == promotion_id)
        .values(attempts=publications.c.attempts + 1, next_at=until, last_error=error[:2000])
    )


async def state_of(db: AsyncConnection, promotion_id: int) -> tuple[str, int, str] | None:
    """(state, attempts, last error) of a promotion's publication, if it has one."""
    row = (
        await db.execute(
            select(publications.c.state, publications.c.attempts, publications.c.last_error).where(
                publications.c.promotion_id == promotion_id
            )
        )
    ).first()
    return (row.state, int(row.attempts), row.last_error) if row is not None else None
