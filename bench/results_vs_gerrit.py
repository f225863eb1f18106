"""One change's CI results: from crosscheck's JSON twin vs from Gerrit's REST API, in one run.

A sandbox Gerrit gets a change with --patchsets patchsets, each reported on by the
CI account with --jobs job lines (Zuul style). crosscheck imports them by backfill
and serves them over real HTTP (`crosscheck results serve`, in its own process);
Gerrit serves the change's messages, which are parsed as a dashboard would have to.
Both sides are timed end to end, from request to the current results in hand.
Medians, p95 and the ratio.

    python -m bench.results_vs_gerrit [--patchsets 5] [--jobs 20] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.browser.server import free_port
from tests.e2e.gerrit_clients import ci_rest

from crosscheck.drivers.gerrit.rest import GerritRestClient, change_id
from crosscheck.results.backfill import Backfill, BackfillOptions
from crosscheck.results.backfill_messages import JobLine, parse_ci_message
from crosscheck.sandbox.gerrit import PushedChange, Sandbox, SandboxRepo, SandboxState
from crosscheck.store import open_store


def report_text(patchset: int, jobs: int) -> str:
    lines = [f"Build succeeded (check pipeline) on patchset {patchset}.", ""]
    lines += [
        f"- bench-job-{n:02d} https://logs.example/{patchset}/{n} : "
        f"{'FAILURE' if n % 7 == 0 else 'SUCCESS'} in {n}m {n:02d}s"
        for n in range(jobs)
    ]
    return "\n".join(lines)


async def prepare(state: SandboxState, work: Path, patchsets: int, jobs: int) -> PushedChange:
    repo = await SandboxRepo(state, state.projects[0], work / "repo").open()
    pushed = await repo.push_change({"bench.txt": "0\n"}, "Change with many CI results")
    async with ci_rest(state) as rest:
        for patchset in range(1, patchsets + 1):
            if patchset > 1:
                pushed = await repo.push_change(
                    {"bench.txt": f"{patchset}\n"}, "unused", amend=pushed
                )
            path = (
                f"/changes/{change_id(pushed.project, pushed.number)}/revisions/{pushed.revision}"
            )
            await rest.post(f"{path}/review", {"message": report_text(patchset, jobs)})
    return pushed


async def from_gerrit(rest: GerritRestClient, pushed: PushedChange, ci: str) -> list[JobLine]:
    """What a dashboard without crosscheck does: fetch the messages, parse the CI's lines."""
    change = await rest.get(
        f"/changes/{change_id(pushed.project, pushed.number)}",
        params={"o": ["MESSAGES", "DETAILED_ACCOUNTS"]},  # usernames of the authors
    )
    current: dict[tuple[int, str], JobLine] = {}
    for message in change["messages"]:
        if (message.get("author") or {}).get("username") != ci:
            continue
        for job in parse_ci_message(message["message"]).jobs:
            current[(message["_revision_number"], job.job)] = job
    return list(current.values())


@contextmanager
def results_server(store: str) -> Iterator[str]:
    """`crosscheck results serve` in its own process, as Gerrit runs in its own."""
    port = free_port()
    command = [
        sys.executable, "-m", "crosscheck", "results", "serve", "--store", store,
        "--port", str(port), "--no-ssh",
    ]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/json/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("crosscheck results serve did not answer in 30 s")
        yield base
    finally:
        server.terminate()
        server.wait(30)


async def timed(work: Callable[[], Awaitable[int]], requests: int, expected: int) -> list[float]:
    took = []
    for _ in range(requests):
        began = time.perf_counter()
        found = await work()
        took.append(time.perf_counter() - began)
        assert found == expected, (found, expected)
    return took


def summary(name: str, took: list[float]) -> str:
    p95 = sorted(took)[int(len(took) * 0.95) - 1]
    return (
        f"  {name:40s} median {statistics.median(took) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"
    )


async def compare(state: SandboxState, work: Path, arguments: argparse.Namespace) -> None:
    pushed = await prepare(state, work, arguments.patchsets, arguments.jobs)
    expected = arguments.patchsets * arguments.jobs
    store = f"sqlite+aiosqlite:///{work / 'results.db'}"
    engine = await open_store(store)
    try:
        async with ci_rest(state) as rest:
            options = BackfillOptions(since=datetime.now(UTC) - timedelta(hours=1))
            await Backfill(engine, rest, state.http_url).run(options)
    finally:
        await engine.dispose()

    with results_server(store) as base:
        async with ci_rest(state) as rest, httpx.AsyncClient(base_url=base) as http:

            async def crosscheck() -> int:
                data: Any = (await http.get(f"/json/changes/{pushed.number}")).json()
                return sum(cell is not None for row in data["rows"] for cell in row["cells"])

            async def gerrit() -> int:
                return len(await from_gerrit(rest, pushed, state.ci.username))

            await timed(crosscheck, 5, expected)
            await timed(gerrit, 5, expected)
            ours = await timed(crosscheck, arguments.requests, expected)
            theirs = await timed(gerrit, arguments.requests, expected)
    print(
        f"one change, {arguments.patchsets} patchsets x {arguments.jobs} jobs "
        f"({expected} current results), {arguments.requests} requests each:"
    )
    print(summary("crosscheck GET /json/changes/N", ours))
    print(summary("Gerrit GET /changes/N (messages) + parse", theirs))
    ratio = statistics.median(theirs) / statistics.median(ours)
    print(f"  crosscheck is {ratio:.1f}x faster (ratio of medians)")


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch:
        box = Sandbox(Path(scratch) / "sandbox")
        state = (await box.up()).state
        try:
            await compare(state, Path(scratch), arguments)
        finally:
            box.down()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patchsets", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
