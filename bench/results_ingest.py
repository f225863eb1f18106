"""Results ingested per second: one at a time and in batches, through the service and the HTTP API.

"over HTTP" is the headline: a real `crosscheck results serve` process (uvicorn, its
default logging) reached over keep-alive TCP by 1 and 4 concurrent httpx clients, with
the server's CPU time per request (bench/results_over_http.py). "HTTP API (in
process)" drives the same app through httpx's ASGI transport, no network: about 0.3 ms
of its CPU per request is the client and the transport's. Each figure is the median of
--rounds rounds.

    python -m bench.results_ingest [--results 2000] [--batch 100] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from tests.postgres import PostgresCluster

from bench.results_over_http import Figure, measure_served, served
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results.service import ResultsService
from crosscheck.serve.results_app import create_results_app
from crosscheck.store import open_store

ACCOUNT = "Bench CI"
_changes = itertools.count(1)


def payload() -> dict[str, Any]:
    return {
        "project": "openstack/nova",
        "change": next(_changes),
        "patchset": 1,
        "job": "tempest-full",
        "value": "passed",
        "url": "https://logs.example/1",
        "duration": 1234.0,
    }


def new_result() -> NewResult:
    data = payload()
    data["value"] = ResultValue.PASSED
    return NewResult(**data)


async def rate(work: Callable[[], Awaitable[None]], results: int, rounds: int) -> float:
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        await work()
        took.append(time.perf_counter() - began)
    return results / statistics.median(took)


async def measure(url: str, results: int, batch: int, rounds: int) -> dict[str, float]:
    engine = await open_store(url)
    try:
        service = ResultsService(engine)
        _, token = await service.accounts.create(ACCOUNT, allowed_projects=["*"])
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(create_results_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def service_single() -> None:
                for _ in range(results):
                    await service.report(ACCOUNT, [new_result()])

            async def service_batched() -> None:
                for _ in range(results // batch):
                    await service.report(ACCOUNT, [new_result() for _ in range(batch)])

            async def http_single() -> None:
                for _ in range(results):
                    response = await http.post("/api/v1/results", json=payload(), headers=headers)
                    assert response.status_code == 201, response.text

            async def http_batched() -> None:
                for _ in range(results // batch):
                    body = {"results": [payload() for _ in range(batch)]}
                    response = await http.post("/api/v1/results/batch", json=body, headers=headers)
                    assert response.status_code == 201, response.text

            return {
                "service, one per call": await rate(service_single, results, rounds),
                f"service, {batch} per call": await rate(service_batched, results, rounds),
                "HTTP API (in process), one per request": await rate(http_single, results, rounds),
                f"HTTP API (in process), {batch} per request": await rate(
                    http_batched, results, rounds
                ),
            }
    finally:
        await engine.dispose()


async def over_http(
    url: str, scratch: Path, results: int, batch: int, rounds: int
) -> dict[str, Figure]:
    with served(url, scratch / "serve.log") as server:
        return await measure_served(
            server, payload, results=results, batch=batch, rounds=rounds, concurrency=(1, 4)
        )


async def on_engine(engine: str, results: int, batch: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch:
        if engine == "sqlite":
            urls = [f"sqlite+aiosqlite:///{Path(scratch) / name}.db" for name in ("a", "b")]
            return await _both(urls, Path(scratch), results, batch, rounds)
        cluster = PostgresCluster()
        cluster.start()
        try:
            urls = [cluster.create_database(), cluster.create_database()]
            return await _both(urls, Path(scratch), results, batch, rounds)
        finally:
            cluster.stop()


async def _both(
    urls: list[str], scratch: Path, results: int, batch: int, rounds: int
) -> dict[str, Any]:
    """The served process gets a store of its own: two writers would measure each other."""
    figures: dict[str, Any] = dict(await over_http(urls[0], scratch, results, batch, rounds))
    return figures | await measure(urls[1], results, batch, rounds)


async def main(results: int, batch: int, rounds: int, engines: list[str]) -> None:
    for engine in engines:
        figures = await on_engine(engine, results, batch, rounds)
        print(f"results ingested per second ({engine}, median of {rounds} rounds):")
        for name, value in figures.items():
            if isinstance(value, Figure):
                cpu = f"   server CPU {value.server_cpu_ms:.2f} ms/request"
                print(f"  {name:44s} {value.per_second:10,.0f} /s{cpu}")
            else:
                print(f"  {name:44s} {value:10,.0f} /s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=2000, help="Results per round.")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", default="sqlite,postgresql")
    arguments = parser.parse_args()
    engines = arguments.engines.split(",")
    asyncio.run(main(arguments.results, arguments.batch, arguments.rounds, engines))
