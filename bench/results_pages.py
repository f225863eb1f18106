"""Page latency with 5 million stored results on ~400K changes, on SQLite and PostgreSQL.

Loads the store in bulk (reports how long that took), then requests pages through
the results app in process (FastAPI + templates + queries, no network): the change
page and the health table, HTML and JSON, and a CI account's page. p50 and p95.

The health table is served from a snapshot (web/snapshots.py); three more rows show
its other paths: sorted 20 ways (more tables than a snapshot keeps rendered), a
result written before each read (every read starts a refresh behind itself), and the
snapshot's own cost, taken afresh for each read.

    python -m bench.results_pages                          # 5M results, both engines
    python -m bench.results_pages --results 50000 --engines sqlite
    python -m bench.results_pages --results 1000000 --engines sqlite --store /tmp/r1m.db
        # --store: load into that SQLite file once, reuse it on later runs
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from tests.postgres import PostgresCluster

from bench.results_data import (
    ACCOUNTS,
    PROJECTS,
    RESULTS_PER_CHANGE,
    Loaded,
    account_name,
    load,
)
from crosscheck.config.pages import NO_SNAPSHOTS, PagesSettings, SnapshotPolicy
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results.service import ResultsService
from crosscheck.serve.results_app import create_results_app
from crosscheck.store import open_store
from crosscheck.web.health import ORDERS, SORT_KEYS


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


async def timed(
    http: httpx.AsyncClient,
    paths: Callable[[], str],
    requests: int,
    before: Callable[[], Awaitable[None]] | None = None,
) -> tuple[float, float]:
    took = []
    for _ in range(requests):
        if before is not None:
            await before()
        path = paths()
        began = time.perf_counter()
        response = await http.get(path)
        took.append(time.perf_counter() - began)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(took), percentile(took, 0.95)


async def measure(url: str, results: int, requests: int, *, reuse: bool = False) -> None:
    engine = await open_store(url)
    try:
        if reuse:
            loaded = Loaded(results, max(int(results / RESULTS_PER_CHANGE), 1), 0.0)
            print(f"  reusing the loaded store ({results:,} results)")
        else:
            loaded = await load(engine, results, datetime.now(UTC))
            print(
                f"  loaded {loaded.results:,} results on {loaded.changes:,} changes "
                f"in {loaded.seconds:.1f} s ({loaded.results / loaded.seconds:,.0f} rows/s)"
            )
        service = ResultsService(engine)
        rng = random.Random(3)  # noqa: S311 -- which pages to ask for
        pages: dict[str, Callable[[], str]] = {
            "change page (HTML)": lambda: f"/changes/{rng.randint(1, loaded.changes)}",
            "change page (JSON)": lambda: f"/json/changes/{rng.randint(1, loaded.changes)}",
            "health table (HTML)": lambda: "/health",
            "health table (JSON)": lambda: "/json/health",
            "health, 20 orders": lambda: SORTS[rng.randrange(len(SORTS))],
            "CI page (HTML)": lambda: f"/cis/{quote(account_name(rng.randint(1, ACCOUNTS)))}",
        }
        await _pages(service, PagesSettings(), pages, requests)
        # Each read after a result: served the snapshot while its refresh runs beside.
        every_time = PagesSettings(health_snapshots=SnapshotPolicy(0, 60, 600))
        wrote = await _pages(service, every_time, HEALTH_WRITTEN, requests, write=True)
        print(f"    ({wrote} results written, one before each read)")
        # The snapshot's own cost: what the first reader, or one after ten quiet
        # minutes, waits for.
        await _pages(service, PagesSettings(health_snapshots=NO_SNAPSHOTS), HEALTH_TAKEN, requests)
    finally:
        await engine.dispose()


SORTS = [f"/health?sort={key}&order={order}" for key in SORT_KEYS for order in ORDERS]
HEALTH_WRITTEN: dict[str, Callable[[], str]] = {"health, results arriving": lambda: "/health"}
HEALTH_TAKEN: dict[str, Callable[[], str]] = {
    "health, snapshot taken (HTML)": lambda: "/health",
    "health, snapshot taken (JSON)": lambda: "/json/health",
}


async def _pages(
    service: ResultsService,
    settings: PagesSettings,
    pages: dict[str, Callable[[], str]],
    requests: int,
    *,
    write: bool = False,
) -> int:
    """Times each page `requests` times on an app with `settings`; with `write`, a
    result is stored (untimed) before each request. Returns how many were written."""
    app = create_results_app(service, pages=settings)
    written = 0

    async def before() -> None:
        nonlocal written
        if write:
            written += 1
            await service.report(account_name(1 + written % ACCOUNTS), [_arriving(written)])

    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        for name, paths in pages.items():
            await timed(http, paths, 3, before)  # warm the caches
            p50, p95 = await timed(http, paths, requests, before)
            print(f"  {name:30s} p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms")
    return written


def _arriving(number: int) -> NewResult:
    return NewResult(
        project=PROJECTS[number % len(PROJECTS)],
        change=10_000_000 + number,
        patchset=1,
        job="job-00",
        value=ResultValue.PASSED,
    )


async def main(
    results: int, engines: list[str], requests: int, store: Path | None, reuse: bool
) -> None:
    for engine in engines:
        print(f"{engine}:")
        if engine == "sqlite" and store is not None:
            # The load is minutes at 1M and more: keep the file for the next run.
            await measure(f"sqlite+aiosqlite:///{store}", results, requests, reuse=reuse)
        elif engine == "sqlite":
            with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch:
                await measure(
                    f"sqlite+aiosqlite:///{Path(scratch) / 'results.db'}", results, requests
                )
        else:
            cluster = PostgresCluster()
            cluster.start()
            try:
                await measure(cluster.create_database(), results, requests)
            finally:
                cluster.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=5_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--store", type=Path, help="SQLite file: loaded if missing, reused if present"
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.results,
            arguments.engines.split(","),
            arguments.requests,
            arguments.store,
            arguments.store is not None and arguments.store.exists(),
        )
    )
