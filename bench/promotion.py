"""Promotion at scale: 10,000 candidates, 4 levels, 50 criteria jobs, 1 million results.

Loads the store in bulk (candidates of one scenario, a minute apart; 100 results per
candidate on average, every job passed by one of two CI accounts; the older half of
the candidates already promoted through the levels), then measures, on SQLite and
PostgreSQL, p50 and p95 of:

- decision time per arriving result: a new result stored through the results
  service, then the engine's decision on its candidate (`climb`), as serve does;
- the pointer query (the API's "latest at a level", DLRN's current-tripleo);
- the board page (scenarios x levels, with what each level's next candidate waits for).

    python -m bench.promotion                                 # the issue's sizes
    python -m bench.promotion --candidates 200 --results 20000 --engines sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.postgres import PostgresCluster

from crosscheck.model.candidate import Candidate
from crosscheck.model.promotion import JobCriterion, Level, NewCandidateResult
from crosscheck.model.results import ResultValue
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.promotion.engine import PromotionEngine
from crosscheck.promotion.pages import promotion_pages
from crosscheck.results.accounts import account_id_of
from crosscheck.results.service import ResultsService
from crosscheck.store import open_store
from crosscheck.store import promotion as store
from crosscheck.store.tables import candidate_results, candidates

NAME = "os-nosdn"
LEVELS = ("verified", "daily", "weekly", "release")
#: 50 jobs over 4 levels: 5, 15, 15 and 15.
JOBS_PER_LEVEL = (5, 15, 15, 15)
ACCOUNTS = ("OPNFV CI", "functest-ci")
CHUNK = 5000


def scenario() -> Scenario:
    levels, first = [], 0
    for index, (name, count) in enumerate(zip(LEVELS, JOBS_PER_LEVEL, strict=True)):
        jobs = tuple(JobCriterion((f"job-{first + n:02d}",)) for n in range(count))
        below = LEVELS[index - 1] if index else None
        levels.append(Level(name, below, jobs, ACCOUNTS))
        first += count
    components = tuple(
        Component(c, RefKind.BRANCH, "master", connection="gerrit", project=f"opnfv/{c}")
        for c in ("nova", "neutron", "apex")
    )
    return Scenario(NAME, components, tuple(levels))


def candidate(n: int) -> Candidate:
    return Candidate(NAME, {"nova": f"{n:040x}", "neutron": f"{n + 7:040x}", "apex": "a" * 40})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def shown(name: str, took: list[float]) -> str:
    p50, p95 = statistics.median(took) * 1000, percentile(took, 0.95) * 1000
    return f"  {name:34s} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms"


async def load(engine: AsyncEngine, count: int, results: int, now: datetime) -> list[str]:
    """Candidates, their results, and the older half promoted through every level."""
    service = ResultsService(engine)
    for name in ACCOUNTS:
        await service.accounts.create(name)
    async with engine.connect() as db:
        account_ids = [await account_id_of(db, name) for name in ACCOUNTS]
    start = now - timedelta(minutes=count + 10)
    ids = [candidate(n).id for n in range(count)]
    async with engine.begin() as db:
        rows = [
            {"id": ids[n], "scenario": NAME, "origin": "merge",
             "versions": json.dumps(dict(candidate(n).versions), sort_keys=True),
             "created_at": start + timedelta(minutes=n)}
            for n in range(count)
        ]  # fmt: skip
        for at in range(0, len(rows), CHUNK):
            await db.execute(insert(candidates), rows[at : at + CHUNK])
    rng = random.Random(5)  # noqa: S311 -- a reproducible spread of results
    jobs = sum(JOBS_PER_LEVEL)
    pending: list[dict[str, object]] = []
    for index in range(results):
        n = index % count
        pending.append(
            {
                "candidate": ids[n],
                "account_id": account_ids[rng.randrange(len(ACCOUNTS))],
                "job": f"job-{(index // count) % jobs:02d}",
                "value": ResultValue.PASSED.value,
                "reported_at": start + timedelta(minutes=n, seconds=30),
                "received_at": start + timedelta(minutes=n, seconds=30),
            }
        )
        if len(pending) == CHUNK:
            async with engine.begin() as db:
                await db.execute(insert(candidate_results), pending)
            pending = []
    if pending:
        async with engine.begin() as db:
            await db.execute(insert(candidate_results), pending)
    async with engine.begin() as db:
        for n in range(0, count // 2, max(1, count // 200)):  # the older half, sampled
            for level in LEVELS:
                await store.promote(db, NAME, level, ids[n], by="criteria", evidence={},
                                    at=start + timedelta(minutes=n))  # fmt: skip
    return ids


async def decisions(
    engine: AsyncEngine, ids: list[str], rounds: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """A result arrives on one of the newer candidates (stored through the results
    service), then the engine decides on it: (storing, deciding) times."""
    service = ResultsService(engine)
    promotion = PromotionEngine(engine, lambda: {NAME: scenario()})
    storing, deciding = [], []
    for _ in range(rounds):
        target = ids[rng.randrange(len(ids) // 2, len(ids))]
        job = f"job-{rng.randrange(sum(JOBS_PER_LEVEL)):02d}"
        item = NewCandidateResult(target, job, ResultValue.PASSED)
        began = time.perf_counter()
        await service.candidates.report(ACCOUNTS[0], [item], now=datetime.now(UTC))
        stored = time.perf_counter()
        await promotion.climb(target)
        storing.append(stored - began)
        deciding.append(time.perf_counter() - stored)
    return storing, deciding


async def timed(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        await call()
        took.append(time.perf_counter() - began)
    return took


async def measure(url: str, count: int, results: int, rounds: int) -> None:
    engine = await open_store(url)
    try:
        began = time.perf_counter()
        ids = await load(engine, count, results, datetime.now(UTC))
        seconds = time.perf_counter() - began
        print(f"  loaded {count:,} candidates and {results:,} results in {seconds:.1f} s")
        rng = random.Random(9)  # noqa: S311
        await decisions(engine, ids, 5, rng)  # warm up
        storing, deciding = await decisions(engine, ids, rounds, rng)
        print(shown("storing an arriving result", storing))
        print(shown("deciding on it (the engine)", deciding))

        async def pointer() -> object:
            async with engine.connect() as db:
                return await store.pointer(db, NAME, rng.choice(LEVELS))

        await timed(pointer, 5)
        print(shown("pointer query", await timed(pointer, rounds)))
        app = FastAPI()
        app.include_router(promotion_pages(engine, lambda: {NAME: scenario()}))
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def board() -> object:
                answer = await http.get("/promotion")
                assert answer.status_code == 200, answer.status_code
                return answer

            await timed(board, 3)
            print(shown("board page (HTML)", await timed(board, rounds)))
    finally:
        await engine.dispose()


async def main(count: int, results: int, engines: list[str], rounds: int) -> None:
    for engine in engines:
        print(f"{engine}:")
        if engine == "sqlite":
            with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch:
                url = f"sqlite+aiosqlite:///{Path(scratch) / 'promotion.db'}"
                await measure(url, count, results, rounds)
        else:
            cluster = PostgresCluster()
            cluster.start()
            try:
                await measure(cluster.create_database(), count, results, rounds)
            finally:
                cluster.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.candidates, arguments.results, arguments.engines.split(","),
             arguments.rounds)
    )  # fmt: skip
