"""Page latency with 5 million stored results on ~400K changes, on SQLite and PostgreSQL.

Loads the store in bulk (reports how long that took), then requests pages through
the results app in process (FastAPI + templates + queries, no network): the change
page and the health table, HTML and JSON, and a CI account's page. p50 and p95.

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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from tests.postgres import PostgresCluster

from bench.results_data import ACCOUNTS, RESULTS_PER_CHANGE, Loaded, account_name, load
from crosscheck.results.service import ResultsService
from crosscheck.serve.results_app import create_results_app
from crosscheck.store import open_store


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


async def timed(
    http: httpx.AsyncClient, paths: Callable[[], str], requests: int
) -> tuple[float, float]:
    took = []
    for _ in range(requests):
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
        app = create_results_app(ResultsService(engine))
        rng = random.Random(3)  # noqa: S311 -- which pages to ask for
        pages: dict[str, Callable[[], str]] = {
            "change page (HTML)": lambda: f"/changes/{rng.randint(1, loaded.changes)}",
            "change page (JSON)": lambda: f"/json/changes/{rng.randint(1, loaded.changes)}",
            "health table (HTML)": lambda: "/health",
            "health table (JSON)": lambda: "/json/health",
            "CI page (HTML)": lambda: f"/cis/{quote(account_name(rng.randint(1, ACCOUNTS)))}",
        }
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for name, paths in pages.items():
                await timed(http, paths, 3)  # warm the caches
                p50, p95 = await timed(http, paths, requests)
                print(f"  {name:22s} p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms")
    finally:
        await engine.dispose()


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
