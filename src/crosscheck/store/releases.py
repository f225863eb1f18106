"""Releases in the store; the one door to the `releases` table."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.release import ComponentPin, Release
from crosscheck.store.tables import releases
from crosscheck.store.upsert import upsert


async def record_release(db: AsyncConnection, release: Release) -> bool:
    """Keep the release; False (nothing written) when its scenario has one of that name."""
    statement = (
        upsert(db, releases)
        .values(
            scenario=release.scenario,
            channel=release.channel,
            name=release.name,
            level=release.level,
            candidate=release.candidate,
            created_at=release.created_at,
            by=release.by,
            components=json.dumps([asdict(pin) for pin in release.components]),
        )
        .on_conflict_do_nothing()
        .returning(releases.c.id)
    )
    return (await db.execute(statement)).first() is not None


async def release_named(db: AsyncConnection, scenario: str, name: str) -> Release | None:
    row = (
        await db.execute(
            select(releases).where(releases.c.scenario == scenario, releases.c.name == name)
        )
    ).first()
    return _release(row) if row is not None else None


async def scenario_releases(db: AsyncConnection, scenario: str, limit: int = 100) -> list[Release]:
    """The scenario's releases, newest first."""
    rows = await db.execute(
        select(releases)
        .where(releases.c.scenario == scenario)
        .order_by(releases.c.id.desc())
        .limit(limit)
    )
    return [_release(row) for row in rows]


async def release_names(db: AsyncConnection, scenario: str) -> set[str]:
    rows = await db.execute(select(releases.c.name).where(releases.c.scenario == scenario))
    return {row.name for row in rows}


def _release(row: Row[Any]) -> Release:
    return Release(
        scenario=row.scenario,
        channel=row.channel,
        name=row.name,
        level=row.level,
        candidate=row.candidate,
        created_at=row.created_at,
        by=row.by,
        components=tuple(ComponentPin(**pin) for pin in json.loads(row.components)),
    )
