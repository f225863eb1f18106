"""Results ingested over HTTP by a real `crosscheck results serve` process (uvicorn), as a
CI's client reaches it: httpx over a keep-alive TCP connection per client, 1 or more
clients at once. The server's own CPU time per request is read from /proc, so the
client's share of the machine is not counted in it.

Used by bench/results_ingest.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ADMIN_TOKEN = "bench-admin-token-" + "x" * 32
ACCOUNT = "Bench CI"


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@dataclass(frozen=True)
class Figure:
    per_second: float
    #: The server process's CPU time (user + system) per request, in milliseconds.
    server_cpu_ms: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(store_url: str, log: Path) -> Iterator[Server]:
    """`crosscheck results serve` on a free port, with its default logging (a line per
    request) into `log`, and no rate limit worth the name."""
    port = _free_port()
    command = [
        sys.executable, "-m", "crosscheck", "results", "serve", "--store", store_url,
        "--port", str(port), "--no-ssh", "--rate", "1000000", "--burst", "1000000",
        "--admin-token-env", "BENCH_ADMIN_TOKEN",
    ]  # fmt: skip
    environment = os.environ | {"BENCH_ADMIN_TOKEN": ADMIN_TOKEN}
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    try:
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        process.wait(30)


async def _ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url) as http:
        while True:
            try:
                if (await http.get("/openapi.json")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"crosscheck results serve did not answer on {url}")
            await asyncio.sleep(0.2)


async def _account(url: str) -> str:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=url) as http:
        created = await http.post(
            "/api/v1/accounts", json={"name": ACCOUNT, "allowed_projects": ["*"]}, headers=admin
        )
        created.raise_for_status()
        return str(created.json()["token"])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _clients(
    url: str, token: str, clients: int, requests: int, post: Callable[..., Awaitable[None]]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]

    async def client(count: int) -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as http:
            for _ in range(count):
                await post(http)

    await asyncio.gather(*(client(count) for count in share))


async def measure_served(
    server: Server,
    payload: Callable[[], dict[str, Any]],
    *,
    results: int,
    batch: int,
    rounds: int,
    concurrency: tuple[int, ...],
) -> dict[str, Figure]:
    url, pid = server.url, server.pid
    await _ready(url)
    token = await _account(url)

    async def single(http: httpx.AsyncClient) -> None:
        response = await http.post("/api/v1/results", json=payload())
        assert response.status_code == 201, response.text

    async def batched(http: httpx.AsyncClient) -> None:
        body = {"results": [payload() for _ in range(batch)]}
        response = await http.post("/api/v1/results/batch", json=body)
        assert response.status_code == 201, response.text

    figures: dict[str, Figure] = {}
    for clients in concurrency:
        figures[f"over HTTP, one per request, {clients} client(s)"] = await _rate(
            pid, rounds, results, partial(_clients, url, token, clients, results, single)
        )
    requests = max(1, results // batch)
    figures[f"over HTTP, {batch} per request, 1 client"] = await _rate(
        pid, rounds, requests * batch, partial(_clients, url, token, 1, requests, batched), requests
    )
    return figures


async def _rate(
    pid: int,
    rounds: int,
    results: int,
    work: Callable[[], Awaitable[None]],
    requests: int | None = None,
) -> Figure:
    took: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        cpu_before, began = _cpu_seconds(pid), time.perf_counter()
        await work()
        took.append(time.perf_counter() - began)
        cpu.append(_cpu_seconds(pid) - cpu_before)
    middle = sorted(range(rounds), key=lambda i: took[i])[rounds // 2]
    return Figure(results / took[middle], cpu[middle] * 1000 / (requests or results))
