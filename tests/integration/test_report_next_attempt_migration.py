"""Migration 0007 on both engines: `reports.next_attempt_at` added to a store with a
report waiting in it; that report says nothing of its next attempt until it is tried
again, and a time stored there reads back as the same aware time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from crosscheck.operator.status import report_views
from crosscheck.store import open_store
from crosscheck.store.tables import reports
from tests.integration.old_stores import store_at


async def test_a_store_at_0006_gains_next_attempt_at_and_keeps_its_reports(
    store_url: str,
) -> None:
    async with store_at(store_url, "0006") as db:
        await db.execute(
            text(
                "INSERT INTO reports (report_key, connection, project, change_number, "
                "patchset, revision, payload, state, attempts, detail, created_at) VALUES "
                "('item-1-review', 'review', 'acme/driver', 7, 1, 'abc', '{}', 'pending', "
                "2, 'Gerrit answered 503', '2026-12-06 00:00:00+00:00')"
            )
        )
    engine = await open_store(store_url)
    try:
        async with engine.connect() as db:
            (waiting,) = (await report_views(db, datetime.now(UTC))).pending
        due = datetime(2026, 12, 6, 0, 1, 30, tzinfo=UTC)
        async with engine.begin() as db:
            await db.execute(reports.update().values(next_attempt_at=due))
        async with engine.connect() as db:
            stored = await db.scalar(select(reports.c.next_attempt_at))
    finally:
        await engine.dispose()
    assert (waiting.key, waiting.attempts, waiting.detail) == (
        "item-1-review",
        2,
        "Gerrit answered 503",
    )
    assert waiting.next_attempt_at is None
    assert stored == due  # an aware time back, on both engines
