"""One change's CI results: from crosscheck's JSON twin vs from Gerrit's REST API, in one run.

A sandbox Gerrit gets a change as upstream ones are: --patchsets patchsets, each
reported on by --cis CI accounts (Gerrit service users) with --jobs job lines of
their own (Zuul style), and discussed in --comments human comments. crosscheck
imports the CIs' messages by backfill and serves them over real HTTP (`crosscheck
results serve`, in its own process); Gerrit serves the change's messages, which are
parsed as a dashboard would have to. Two reads, both timed end to end, from request
to the current results in hand:

- every patchset, every CI (a change's page): `GET /json/changes/N` against Gerrit's
  `GET /changes/N` with messages, every CI's lines parsed;
- the current patchset (the Checks tab): `GET /api/v1/changes/N/patchsets/P/checks`
  against the same Gerrit GET, the current patchset's CI messages parsed.

Medians, p95s and their ratios; and, apart, a client that revalidates the copy of
the change it holds (If-None-Match, answered 304 without a body), and the HTML page a
reviewer opens (`GET /changes/N`, the cells with a result counted in it).

    python -m bench.results_vs_gerrit [--cis 10] [--comments 2] [--patchsets 5] [--jobs 20]
        [--requests 100] [--state-dir DIR]

`--cis 1 --comments 0` is the earlier, one-CI change. DIR reuses a running sandbox
(`python -m crosscheck sandbox --state-dir DIR up`): each run pushes one more change
to it, and sets the bench CIs' accounts up again (idempotent).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.browser.server import free_port
from tests.e2e.gerrit_clients import ci_rest

from crosscheck.drivers.gerrit.errors import GerritNotFoundError
from crosscheck.drivers.gerrit.rest import GerritRestClient, change_id
from crosscheck.results.backfill import Backfill, BackfillOptions
from crosscheck.results.backfill_messages import JobLine, parse_ci_message
from crosscheck.sandbox.gerrit import PushedChange, Sandbox, SandboxRepo, SandboxState
from crosscheck.sandbox.gerrit.provision import SERVICE_USERS, admin_client
from crosscheck.sandbox.gerrit.state import new_password
from crosscheck.store import open_store

#: The bench's CI accounts are bench-ci-01, bench-ci-02, ...
CI_PREFIX = "bench-ci-"


@dataclass(frozen=True)
class Shape:
    """What the change holds."""

    cis: int
    comments: int
    patchsets: int
    jobs: int

    @classmethod
    def of(cls, arguments: argparse.Namespace) -> Shape:
        return cls(arguments.cis, arguments.comments, arguments.patchsets, arguments.jobs)

    @property
    def names(self) -> list[str]:
        return [f"{CI_PREFIX}{n:02d}" for n in range(1, self.cis + 1)]

    @property
    def per_patchset(self) -> int:
        return self.cis * self.jobs

    @property
    def results(self) -> int:
        return self.per_patchset * self.patchsets


def report_text(ci: str, patchset: int, jobs: int) -> str:
    """A Zuul-style report: each CI runs jobs of its own name, a few of them failing."""
    lines = [f"Build succeeded (check pipeline) on patchset {patchset}.", ""]
    lines += [
        f"- {ci}-job-{n:02d} https://logs.example/{ci}/{patchset}/{n} : "
        f"{'FAILURE' if (n + patchset) % 7 == 0 else 'SUCCESS'} in {n}m {n:02d}s"
        for n in range(jobs)
    ]
    return "\n".join(lines)


def comment_text(patchset: int, n: int) -> str:
    """A reviewer's prose: no job lines, but as long as people write."""
    return (
        f"Thanks for patchset {patchset}. A few thoughts ({n + 1}):\n\n"
        "The retry loop in the driver still sleeps a fixed interval; could it back off\n"
        "instead? Also, the new option wants a line in the release notes, and the\n"
        "unit test only covers the happy path - please add the timeout case.\n\n"
        "Otherwise this looks close; I will look again once the CIs are green."
    )


async def ensure_cis(state: SandboxState, names: list[str]) -> dict[str, str]:
    """The CI accounts, service users each with a fresh HTTP password: name -> password."""
    passwords = {name: new_password() for name in names}
    async with await admin_client(state) as admin:
        for name, password in passwords.items():
            await ensure_ci(admin, name, password)
    return passwords


async def ensure_ci(admin: GerritRestClient, name: str, password: str) -> None:
    try:
        await admin.get(f"/accounts/{name}")
    except GerritNotFoundError:
        account = {
            "name": f"Bench CI {name.removeprefix(CI_PREFIX)}",
            "email": f"{name}@example.com",
            "http_password": password,
            "groups": [SERVICE_USERS],  # backfill imports service users' messages only
        }
        await admin.put(f"/accounts/{name}", account)
        return
    # A reused sandbox: its password was never kept, so set a new one; PUTs are idempotent.
    await admin.put(f"/accounts/{name}/password.http", {"http_password": password})
    await admin.put(f"/groups/{SERVICE_USERS}/members/{name}")


async def prepare(state: SandboxState, work: Path, shape: Shape) -> PushedChange:
    """The change, its patchsets each reported on by every CI and commented on by the admin."""
    passwords = await ensure_cis(state, shape.names)
    repo = await SandboxRepo(state, state.projects[0], work / "repo").open()
    pushed = await repo.push_change({"bench.txt": "0\n"}, "Change with many CI results")
    async with AsyncExitStack() as stack:
        admin = await stack.enter_async_context(await admin_client(state))
        cis = {
            name: await stack.enter_async_context(GerritRestClient(state.http_url, name, password))
            for name, password in passwords.items()
        }
        for patchset in range(1, shape.patchsets + 1):
            if patchset > 1:
                pushed = await repo.push_change(
                    {"bench.txt": f"{patchset}\n"}, "unused", amend=pushed
                )
            await post_patchset(pushed, patchset, shape, cis, admin)
    return pushed


async def post_patchset(
    pushed: PushedChange,
    patchset: int,
    shape: Shape,
    cis: Mapping[str, GerritRestClient],
    admin: GerritRestClient,
) -> None:
    path = f"/changes/{change_id(pushed.project, pushed.number)}/revisions/{pushed.revision}"
    for name, rest in cis.items():
        await rest.post(f"{path}/review", {"message": report_text(name, patchset, shape.jobs)})
    for n in range(shape.comments):
        await admin.post(f"{path}/review", {"message": comment_text(patchset, n)})


async def from_gerrit(
    rest: GerritRestClient, pushed: PushedChange, cis: frozenset[str], patchset: int | None
) -> list[JobLine]:
    """What a dashboard without crosscheck does: fetch the messages, parse the CIs' lines,
    the last of each (CI, patchset, job) current; of one patchset only, or of all."""
    change = await rest.get(
        f"/changes/{change_id(pushed.project, pushed.number)}",
        params={"o": ["MESSAGES", "DETAILED_ACCOUNTS"]},  # usernames of the authors
    )
    current: dict[tuple[str, int, str], JobLine] = {}
    for message in change["messages"]:
        author = (message.get("author") or {}).get("username")
        number = message["_revision_number"]
        if author not in cis or (patchset is not None and number != patchset):
            continue
        for job in parse_ci_message(message["message"]).jobs:
            current[(author, number, job.job)] = job
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


def p95(took: list[float]) -> float:
    return sorted(took)[max(int(len(took) * 0.95) - 1, 0)]


def summary(name: str, took: list[float]) -> str:
    median, high = statistics.median(took) * 1000, p95(took) * 1000
    return f"  {name:48s} median {median:7.2f} ms   p95 {high:7.2f} ms"


@dataclass(frozen=True)
class Side:
    """One way of reading: its name in the report, what it does, the count it must find."""

    name: str
    read: Callable[[], Awaitable[int]]
    expected: int


async def compare(state: SandboxState, work: Path, arguments: argparse.Namespace) -> None:
    shape = Shape.of(arguments)
    pushed = await prepare(state, work, shape)
    store = f"sqlite+aiosqlite:///{work / 'results.db'}"
    await import_results(state, store)
    with results_server(store) as base:
        async with ci_rest(state) as rest, httpx.AsyncClient(base_url=base) as http:
            sides = await sides_of(rest, http, pushed, shape)
            # One side after the other, as before: taking turns (tried on 2026-12-06) made
            # crosscheck's times swing 2-5x on the busy shared cores, Gerrit's much less.
            for side in sides:
                await timed(side.read, 5, side.expected)
            took = [await timed(s.read, arguments.requests, s.expected) for s in sides]
            bodies = await body_sizes(state, http, pushed)
    print(
        f"one change, {shape.cis} CIs x {shape.patchsets} patchsets x {shape.jobs} jobs "
        f"({shape.results} current results), {shape.comments} human comments per patchset, "
        f"{arguments.requests} requests each:"
    )
    report(sides, took)
    print(bodies)


async def body_sizes(state: SandboxState, http: httpx.AsyncClient, pushed: PushedChange) -> str:
    """What each side sends for the whole change, once, untimed: JSON, and on the wire
    (httpx asks for gzip; whoever compresses sends less)."""
    auth = (state.ci.username, state.ci.http_password)
    async with httpx.AsyncClient(base_url=state.http_url, auth=auth) as gerrit:
        theirs = await gerrit.get(
            f"/a/changes/{change_id(pushed.project, pushed.number)}",
            params={"o": ["MESSAGES", "DETAILED_ACCOUNTS"]},
        )
    ours = await http.get(f"/json/changes/{pushed.number}")
    return f"  whole change's body: crosscheck {kb(ours)}, Gerrit {kb(theirs)}"


def kb(answer: httpx.Response) -> str:
    return f"{len(answer.content) / 1000:.0f} kB ({answer.num_bytes_downloaded / 1000:.0f} kB sent)"


async def sides_of(
    rest: GerritRestClient, http: httpx.AsyncClient, pushed: PushedChange, shape: Shape
) -> list[Side]:
    """crosscheck's and Gerrit's reads of every patchset, then of the current one; then
    crosscheck's revalidation of the change, when it gives an ETag."""
    cis, current = frozenset(shape.names), shape.patchsets
    page = f"/json/changes/{pushed.number}"
    checks = f"/api/v1/changes/{pushed.number}/patchsets/{current}/checks"

    async def whole() -> int:
        return cells_of((await http.get(page)).json())

    async def whole_gerrit() -> int:
        return len(await from_gerrit(rest, pushed, cis, None))

    async def tab() -> int:
        answer = await http.get(checks, params={"project": pushed.project})
        return sum(len(ci["results"]) for ci in answer.json()["cis"])

    async def tab_gerrit() -> int:
        return len(await from_gerrit(rest, pushed, cis, current))

    etag = (await http.get(page)).headers.get("etag")

    async def revalidated() -> int:
        """A client polling the change with the copy it holds: a 304, no body."""
        answer = await http.get(page, headers={"If-None-Match": etag or ""})
        return shape.results if answer.status_code == 304 else cells_of(answer.json())

    async def html() -> int:
        return (await http.get(f"/changes/{pushed.number}")).text.count(' data-value="')

    sides = [
        Side("crosscheck GET /json/changes/N", whole, shape.results),
        Side("Gerrit GET /changes/N (messages) + parse all", whole_gerrit, shape.results),
        Side("crosscheck GET .../patchsets/P/checks", tab, shape.per_patchset),
        Side("Gerrit GET /changes/N (messages) + parse P", tab_gerrit, shape.per_patchset),
    ]
    if etag:
        sides.append(Side("crosscheck, If-None-Match -> 304", revalidated, shape.results))
    sides.append(Side("crosscheck GET /changes/N (the HTML page)", html, shape.results))
    return sides


async def import_results(state: SandboxState, store: str) -> None:
    """The CIs' comments into crosscheck's store, by backfill, as an operator would."""
    engine = await open_store(store)
    try:
        async with ci_rest(state) as rest:
            options = BackfillOptions(since=datetime.now(UTC) - timedelta(hours=1))
            await Backfill(engine, rest, state.http_url).run(options)
    finally:
        await engine.dispose()


def cells_of(data: Any) -> int:
    return sum(cell is not None for row in data["rows"] for cell in row["cells"])


def report(sides: list[Side], took: list[list[float]]) -> None:
    titles = [
        f"every patchset, every CI ({sides[0].expected} results):",
        f"the current patchset only ({sides[2].expected} results):",
    ]
    for title, at in zip(titles, (0, 2), strict=True):
        print(f" {title}")
        ours, theirs = took[at], took[at + 1]
        print(summary(sides[at].name, ours))
        print(summary(sides[at + 1].name, theirs))
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(f"  crosscheck is {ratio:.1f}x faster (ratio of medians)")
        print(f"  crosscheck is {p95(theirs) / p95(ours):.1f}x faster (ratio of p95s)")
    # Not the comparison: Gerrit answered every request in full; a person reads a page.
    for side, times in zip(sides[4:], took[4:], strict=True):
        print(summary(side.name, times))
        again = statistics.median(took[1]) / statistics.median(times)
        print(f"  {again:.1f}x faster than Gerrit's read of every patchset (ratio of medians)")


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch:
        if arguments.state_dir is not None:
            await compare(SandboxState.load(arguments.state_dir), Path(scratch), arguments)
            return
        box = Sandbox(Path(scratch) / "sandbox")
        state = (await box.up()).state
        try:
            await compare(state, Path(scratch), arguments)
        finally:
            box.down()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cis", type=int, default=10, help="CI accounts reporting")
    parser.add_argument("--comments", type=int, default=2, help="human comments per patchset")
    parser.add_argument("--patchsets", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=20, help="jobs per CI")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--state-dir", type=Path, default=None, help="reuse a running sandbox")
    asyncio.run(main(parser.parse_args()))
