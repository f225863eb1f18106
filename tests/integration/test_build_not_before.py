"""Migration 0005 on both engines: `builds.not_before` added to a store with builds in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, select, text

from crosscheck.store import open_store, work
from crosscheck.store.tables import builds
from tests.integration.old_stores import store_at


async def test_a_store_at_0004_gains_not_before_and_keeps_its_builds(
    store_url: str, tmp_path: Path
) -> None:
    async with store_at(store_url, "0004") as db:
        await db.execute(
            text(
                "INSERT INTO builds (id, item_id, job, attempt, voting, state) "
                "VALUES ('b1', 1, 'unit', 1, 1, 'waiting')"
            )
        )

    engine = await open_store(store_url)
    try:
        async with engine.begin() as db:
            columns = await db.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("builds")}
            )
            versions = set(
                (await db.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
            when = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
            await work.add_builds(db, 1, [("unit", True)], 2, when)
            rows = (
                await db.execute(
                    select(builds.c.attempt, builds.c.not_before).order_by(builds.c.attempt)
                )
            ).all()
            due = await db.scalar(
                select(builds.c.attempt).where(builds.c.not_before <= when + timedelta(seconds=1))
            )
    finally:
        await engine.dispose()
    assert "not_before" in columns
    assert "0008" in versions  # and on to the head of its chain
    assert [(r.attempt, r.not_before) for r in rows] == [(1, None), (2, when)]
    assert due == 2
