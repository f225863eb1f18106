"""The derived tables migration 0105's trigger keeps, on both engines: after single
reports, batches, re-reports of the same job (running, then its result, then a late
running one) and the migration's backfill, each equals a count made from `results`."""

from __future__ import annotations

import importlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from crosscheck.model.results import ResultValue
from crosscheck.results.records import day_number
from crosscheck.results.service import ResultsService
from crosscheck.store.migrate import alembic_config
from crosscheck.store.tables import (
    account_projects,
    ci_accounts,
    reported_projects,
    result_account_days,
    result_daily_counts,
    results,
)
from tests.integration.results.helpers import new_result

NOW = datetime(2024, 5, 31, 15, 30, tzinfo=UTC)
VALUES = [value.value for value in ResultValue]
migration = importlib.import_module("crosscheck.store.migrations.versions.0105_result_aggregates")


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


async def derived(connection: AsyncConnection) -> dict[str, Any]:
    """What the derived tables hold, in the shape `expected` computes."""
    daily = {
        (row.account_id, row.day, row.value): row.count
        for row in await connection.execute(select(result_daily_counts))
    }
    days = {
        (row.account_id, row.day): tuple(getattr(row, v) for v in VALUES)
        for row in await connection.execute(select(result_account_days))
    }
    pairs = {
        (row.account_id, row.project): row.last_reported_at
        for row in await connection.execute(select(account_projects))
    }
    projects = {
        row.project: row.last_reported_at
        for row in await connection.execute(select(reported_projects))
    }
    seen = {
        row.id: (row.last_seen, row.last_success)
        for row in await connection.execute(select(ci_accounts))
    }
    return {"daily": daily, "days": days, "pairs": pairs, "projects": projects, "seen": seen}


async def expected(connection: AsyncConnection) -> dict[str, Any]:
    """The same, counted from every stored result."""
    rows = list(await connection.execute(select(results)))
    daily = Counter((r.account_id, day_number(r.reported_at), r.value) for r in rows)
    days: dict[tuple[int, int], tuple[int, ...]] = {}
    for (account, day, value), count in daily.items():
        counts = list(days.get((account, day), (0,) * len(VALUES)))
        counts[VALUES.index(value)] += count
        days[(account, day)] = tuple(counts)
    pairs: dict[tuple[int, str], datetime] = {}
    projects: dict[str, datetime] = {}
    for r in rows:
        pairs[(r.account_id, r.project)] = max(
            pairs.get((r.account_id, r.project), r.reported_at), r.reported_at
        )
        projects[r.project] = max(projects.get(r.project, r.reported_at), r.reported_at)
    seen: dict[int, tuple[datetime | None, datetime | None]] = {}
    for row in await connection.execute(select(ci_accounts.c.id)):
        mine = [r for r in rows if r.account_id == row.id]
        passed = [r.reported_at for r in mine if r.value == ResultValue.PASSED.value]
        seen[row.id] = (
            max((r.reported_at for r in mine), default=None),
            max(passed, default=None),
        )
    return {"daily": dict(daily), "days": days, "pairs": pairs, "projects": projects, "seen": seen}


async def assert_derived_match(service: ResultsService) -> None:
    async with service.engine.connect() as connection:
        assert await derived(connection) == await expected(connection)


async def test_single_reports_and_batches_keep_every_derived_table(
    service: ResultsService,
) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.create("b", allowed_projects=["*"])
    await service.accounts.create("quiet", allowed_projects=["*"])
    await service.report("a", [new_result(reported_at=ago(hours=1))], now=NOW)
    await service.report(
        "a", [new_result(value=ResultValue.FAILED, reported_at=ago(days=3))], now=NOW
    )
    batch = [
        new_result(
            project=f"p/{n % 3}",
            change=100 + n,
            value=list(ResultValue)[n % len(ResultValue)],
            reported_at=ago(days=n % 5, minutes=n),
        )
        for n in range(40)
    ]
    await service.report("b", batch, now=NOW)
    # A backfilled, older batch: moves counts, never a time back.
    await service.report(
        "b", [new_result(project="p/0", reported_at=ago(days=20)) for _ in range(3)], now=NOW
    )
    await assert_derived_match(service)


async def test_a_re_reported_job_counts_each_report_and_keeps_the_newest_time(
    service: ResultsService,
) -> None:
    """A job reported running, then its result, then a running report delivered late
    (older): every report is a row counted on its day; last seen is the newest time."""
    await service.accounts.create("a", allowed_projects=["*"])
    running = new_result(value=ResultValue.IN_PROGRESS, reported_at=ago(minutes=30))
    final = new_result(value=ResultValue.PASSED, reported_at=ago(minutes=5))
    late = new_result(value=ResultValue.IN_PROGRESS, reported_at=ago(minutes=40))
    for item in (running, final, late):
        await service.report("a", [item], now=NOW)
    await assert_derived_match(service)
    (stats,) = await service.statistics(now=NOW)
    assert stats.last_seen == ago(minutes=5)
    assert stats.windows["24h"].counts == {ResultValue.PASSED: 1, ResultValue.IN_PROGRESS: 2}


async def test_the_health_reads_list_a_few_projects_as_the_full_list_starts(
    service: ResultsService,
) -> None:
    """The health table's short path (a count and the first few names) agrees with
    every (account, project) pair read."""
    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.create("b", allowed_projects=["*"])
    names = ["z/last", "A/upper", "a-b/dash", "a/b", "a.b/dot", "nova", "Ünicode/x"]
    await service.report(
        "a", [new_result(project=name, reported_at=ago(days=1)) for name in names], now=NOW
    )
    await service.report("a", [new_result(project="old/one", reported_at=ago(days=40))], now=NOW)
    await service.report("b", [new_result(project="b/only", reported_at=ago(hours=2))], now=NOW)
    full = {a.account.name: a for a in await service.activity.every(NOW, 30)}
    short = {a.account.name: a for a in await service.activity.every(NOW, 30, listed=3)}
    for name in ("a", "b"):
        assert short[name].project_count == full[name].project_count == len(full[name].projects)
        assert list(short[name].projects) == sorted(full[name].projects)[:3]
    assert full["a"].project_count == len(names)  # old/one is outside the month
    reported = await service.activity.projects(NOW, 30)
    assert reported == sorted({*names, "b/only"})


async def test_0105_backfills_the_account_days_and_projects(store_url: str) -> None:
    """A store at 0104 with results (and what 0104's code kept): 0105 fills its tables
    from them, and its trigger keeps them from then on."""
    engine = create_async_engine(store_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0104"))
            await connection.execute(
                text("INSERT INTO ci_accounts (id, name, owner, info_url, enabled, admin, "
                     "allowed_projects, disabled_reason, created_at, updated_at) "
                     "VALUES (1, 'Acme CI', '', '', true, false, '[\"*\"]', '', :now, :now)"),
                {"now": NOW},
            )  # fmt: skip
            reported = [("a/nova", 1, "passed"), ("a/nova", 3, "failed"), ("a/cinder", 3, "passed")]
            for number, (project, day, value) in enumerate(reported):
                await connection.execute(
                    text("INSERT INTO results (uuid, account_id, project, change_number, "
                         "patchset, job, value, voting, rerun, reported_at, received_at) "
                         "VALUES (:uuid, 1, :project, 1, 1, 'unit', :value, true, false, "
                         ":at, :at)"),
                    {"uuid": f"u{number}", "project": project, "value": value,
                     "at": datetime(2024, 5, day, 12, tzinfo=UTC)},
                )  # fmt: skip
            # What 0104's ingest kept: 0105 adds to it, it does not rebuild it.
            await connection.execute(
                text("INSERT INTO account_projects (account_id, project, last_reported_at) "
                     "SELECT account_id, project, MAX(reported_at) FROM results "
                     "GROUP BY account_id, project")
            )  # fmt: skip
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "heads"))
            days = {
                row.day: (row.passed, row.failed)
                for row in await connection.execute(select(result_account_days))
            }
            first = day_number(datetime(2024, 5, 1, tzinfo=UTC))
            assert days == {first: (1, 0), first + 2: (1, 1)}
            projects = await connection.execute(select(reported_projects.c.project))
            assert sorted(projects.scalars()) == ["a/cinder", "a/nova"]
        service = ResultsService(engine, max_age=None)
        await service.report(
            "Acme CI", [new_result(project="a/new", reported_at=datetime(2024, 5, 3, tzinfo=UTC))]
        )
        async with engine.connect() as connection:
            after = await derived(connection)
            assert after["days"] == (await expected(connection))["days"]
            assert after["pairs"] == (await expected(connection))["pairs"]
            assert after["projects"] == (await expected(connection))["projects"]
    finally:
        await engine.dispose()


def test_the_migration_names_the_values_the_model_has() -> None:
    """result_account_days has a column per value: a new value needs a migration."""
    assert tuple(VALUES) == migration.VALUES
