"""Many stored results, fast: generated rows bulk-loaded (SQLite executemany, PostgreSQL COPY).

The shape follows OpenStack: ~12.5 results per change (5 million results on 400K
changes), 180 CI accounts, 1 to 3 patchsets, change numbers rising with time over
a year. The daily counts, the account days (as migration 0105 backfills them), the
projects and each account's last seen / last success are filled as ingest would fill
them, so statistics read what they would in production.
The results indexes are dropped during the load and built after: far faster.
"""

from __future__ import annotations

import importlib
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.results import ResultValue
from crosscheck.results.records import day_number
from crosscheck.store.tables import ci_accounts, results

#: The migration that made the trigger keeping the derived tables, and their backfill.
_aggregates = importlib.import_module("crosscheck.store.migrations.versions.0105_result_aggregates")

ACCOUNTS = 180
RESULTS_PER_CHANGE = 12.5
JOBS = [f"job-{n:02d}" for n in range(30)]
PROJECTS = [f"openstack/project-{n:03d}" for n in range(500)]
#: Mostly passing, as CI results are.
VALUES = [ResultValue.PASSED] * 14 + [ResultValue.FAILED] * 4 + [ResultValue.UNSTABLE]
VALUES += [ResultValue.SKIPPED, ResultValue.NOT_REGISTERED]
COLUMNS = [
    "uuid", "account_id", "project", "branch", "change_number", "patchset", "revision", "job",
    "value", "url", "duration", "voting", "category", "rerun", "comment", "reported_at",
    "received_at",
]  # fmt: skip


@dataclass(frozen=True)
class Loaded:
    results: int
    changes: int
    seconds: float


def account_name(number: int) -> str:
    return f"CI {number:03d}"


def generate(total: int, now: datetime, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """Rows in COLUMNS order, change by change, oldest first."""
    rng = random.Random(seed)  # noqa: S311 -- sample data, not secrets
    changes = max(int(total / RESULTS_PER_CHANGE), 1)
    start = now - timedelta(days=365)
    step = timedelta(days=365) / changes
    made = 0
    for change in range(1, changes + 1):
        project = PROJECTS[change % len(PROJECTS)]
        when = start + step * change
        count = total - made if change == changes else rng.randint(8, 17)
        for index in range(count):
            patchset = 1 + index * 3 // max(count, 1)
            moment = when + timedelta(minutes=index)
            yield (
                f"{made:032x}", rng.randint(1, ACCOUNTS), project, "master", change, patchset,
                f"{change:030x}{patchset:010x}", JOBS[rng.randrange(len(JOBS))],
                rng.choice(VALUES).value, f"https://logs.example/{change}/{index}",
                float(rng.randint(30, 7200)), index % 5 != 0, "check", False, None, moment, moment,
            )  # fmt: skip
            made += 1
        if made >= total:
            return


async def load(engine: AsyncEngine, total: int, now: datetime) -> Loaded:
    """Accounts, `total` results, daily counts, last seen; returns the time it took."""
    began = time.perf_counter()
    await _accounts(engine, now)
    daily: Counter[tuple[int, int, str]] = Counter()
    seen: dict[int, datetime] = {}
    passed: dict[int, datetime] = {}

    def tally(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            account, value, moment = row[1], row[8], row[15]
            daily[(account, day_number(moment), value)] += 1
            seen[account] = moment
            if value == "passed":
                passed[account] = moment
            yield row

    rows = tally(generate(total, now))
    # Row by row, the store's trigger would keep the derived tables; they are built
    # once after the load instead, the account days as the migration builds them.
    async with engine.begin() as connection:
        await connection.run_sync(_aggregates.drop_trigger)
    if engine.dialect.name == "sqlite":
        await _load_sqlite(engine, rows)
    else:
        await _load_postgresql(engine, rows)
    await _derived(engine, daily, seen, passed)
    async with engine.begin() as connection:
        await connection.run_sync(_aggregates.backfill)
        await connection.run_sync(_aggregates.create_trigger)
        # The planner's figures for the tables filled after the load's ANALYZE.
        await connection.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        await _vacuum(engine)
    changes = max(int(total / RESULTS_PER_CHANGE), 1)
    return Loaded(total, changes, time.perf_counter() - began)


async def _vacuum(engine: AsyncEngine) -> None:
    """What autovacuum does soon after a bulk load: without the visibility map, index-only
    scans (the health table's partial days) visit the heap for every row, twice slower."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM (ANALYZE)"))


async def _accounts(engine: AsyncEngine, now: datetime) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            ci_accounts.insert(),
            [
                {
                    "id": n,
                    "name": account_name(n),
                    "owner": "",
                    "info_url": "",
                    "enabled": True,
                    "admin": False,
                    "allowed_projects": '["*"]',
                    "disabled_reason": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(1, ACCOUNTS + 1)
            ],
        )


def _index_ddl() -> list[tuple[str, str]]:
    return [
        (index.name or "", ", ".join(c.name for c in index.columns)) for index in results.indexes
    ]


async def _load_sqlite(engine: AsyncEngine, rows: Iterator[tuple[Any, ...]]) -> None:
    path = engine.url.database
    assert path, "a file-backed SQLite store"
    await engine.dispose()  # the loader writes through its own connection
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        for name, _ in _index_ddl():
            connection.execute(f"DROP INDEX {name}")
        marks = ", ".join("?" for _ in COLUMNS)
        statement = f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
        connection.executemany(statement, (_sqlite_row(row) for row in rows))
        for name, columns in _index_ddl():
            connection.execute(f"CREATE INDEX {name} ON results ({columns})")
        connection.commit()
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # The format SQLAlchemy's SQLite DateTime writes, so reads parse it back.
    stamp = row[15].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return (*row[:15], stamp, stamp)


async def _load_postgresql(engine: AsyncEngine, rows: Iterator[tuple[Any, ...]]) -> None:
    async with engine.begin() as connection:
        for name, _ in _index_ddl():
            await connection.execute(text(f"DROP INDEX {name}"))
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 100_000:
                await driver.copy_records_to_table("results", records=batch, columns=COLUMNS)
                batch = []
        if batch:
            await driver.copy_records_to_table("results", records=batch, columns=COLUMNS)
        for name, columns in _index_ddl():
            await connection.execute(text(f"CREATE INDEX {name} ON results ({columns})"))
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()


async def _derived(
    engine: AsyncEngine,
    daily: Counter[tuple[int, int, str]],
    seen: dict[int, datetime],
    passed: dict[int, datetime],
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO result_daily_counts (account_id, day, value, count) "
                "VALUES (:a, :d, :v, :c)"
            ),
            [{"a": a, "d": d, "v": v, "c": c} for (a, d, v), c in daily.items()],
        )
        # As each report keeps it (records._mark_projects), in one pass here.
        await connection.execute(
            text(
                "INSERT INTO account_projects (account_id, project, last_reported_at) "
                "SELECT account_id, project, MAX(reported_at) FROM results "
                "GROUP BY account_id, project"
            )
        )
        for account, moment in seen.items():
            await connection.execute(
                ci_accounts.update()
                .where(ci_accounts.c.id == account)
                .values(last_seen=moment, last_success=passed.get(account))
            )
