"""A burst: `--changes` changes pushed at once to a real `crosscheck serve` with `--slots`
local slots, one voting job (`true`) each.

On a sandbox Gerrit, after a first burst of `--warmup` changes (the mirror filled),
`--changes` independent commits on the tip are pushed by as many `git push` at once. A
stream-events subscriber times the start of that push -> the last change's vote
(the CI's `comment-added` event). The builds' consoles give each build's workspace
time (from "preparing the workspace" to "workspace ready", their millisecond
timestamps); the serve's store each build's whole time. Medians and p95.

    python -m bench.burst [--changes 30] [--slots 4] [--rounds 1] [--state-dir DIR]

To compare with another version of crosscheck, put its `src` first on PYTHONPATH:
the serve is a subprocess of the same interpreter and environment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from tests.e2e.ci_loop_harness import ServeProcess, write_config
from tests.e2e.gerrit_clients import EventStream, stream_events

import crosscheck
from bench.ci_loop import on_change, p95, trivial_config, voted_by
from bench.peers import proctree
from crosscheck.sandbox.gerrit import Sandbox, SandboxRepo, SandboxState

#: The console's timestamp: `2026-12-06 09:50:50.867 | line`.
STAMP = "%Y-%m-%d %H:%M:%S.%f"


async def commits_on_tip(repo: SandboxRepo, count: int, tag: str) -> list[str]:
    """`count` independent commits, each on the branch tip."""
    await repo._run("fetch", "--quiet", repo.remote_url, "master")
    revisions = []
    for index in range(count):
        await repo._run("checkout", "--quiet", "-B", "burst", "FETCH_HEAD")
        (repo.workdir / f"burst-{tag}-{index}").write_text(f"{index}\n")
        await repo._run("add", "--all")
        await repo._run("commit", "--quiet", "-m", f"Burst {tag} {index}")
        revisions.append((await repo._run("rev-parse", "HEAD")).strip())
    return revisions


#: Whose CPU the burst measures: serve with its children (git, bubblewrap, the
#: steps), serve's own Python, and the sandbox Gerrit.
CPU_OF = ("serve", "serve alone", "gerrit")


def cpu_of(serve: ServeProcess, state: SandboxState) -> tuple[float, float, float]:
    """CPU seconds so far of each of CPU_OF."""
    assert serve.process is not None
    assert state.pid is not None
    return (
        proctree.cpu_seconds(proctree.tree([serve.process.pid])),
        proctree.own_cpu_seconds(serve.process.pid),
        proctree.cpu_seconds([state.pid]),
    )


async def one_burst(
    state: SandboxState, repo: SandboxRepo, stream: EventStream, count: int
) -> tuple[float, list[int]]:
    """Push `count` changes by as many `git push` at once; seconds from the pushes'
    start to the last vote, and the changes."""
    revisions = await commits_on_tip(repo, count, uuid.uuid4().hex[:6])
    began = time.perf_counter()
    await asyncio.gather(
        *(repo._run("push", "--quiet", repo.remote_url, f"{r}:refs/for/master") for r in revisions)
    )
    numbers = [(await repo._lookup(revision, "master")).number for revision in revisions]
    arrivals = []
    for number in numbers:
        vote = await stream.wait_for(
            on_change(number, "comment-added", voted_by(state.ci.username)), timeout=600
        )
        arrivals.append(stream.arrival(vote))
    return max(arrivals) - began, numbers


def workspace_time(console: Path) -> float | None:
    """A build's workspace time, from its console's own timestamps."""
    marks: dict[str, datetime] = {}
    for line in console.read_text(errors="replace").splitlines():
        stamp, _, text = line.partition(" | ")
        if text.startswith("--- preparing the workspace"):
            marks["began"] = datetime.strptime(stamp, STAMP)
        elif text.startswith("--- workspace ready"):
            marks["ready"] = datetime.strptime(stamp, STAMP)
    if len(marks) < 2:
        return None
    return (marks["ready"] - marks["began"]).total_seconds()


def build_times(serve: ServeProcess, numbers: list[int]) -> list[float]:
    rows = serve.query(
        "SELECT b.started_at, b.finished_at FROM builds b JOIN items i ON b.item_id = i.id "
        "WHERE i.change_number BETWEEN ? AND ? AND b.finished_at IS NOT NULL",
        min(numbers),
        max(numbers),
    )
    return [
        (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
        for start, end in rows
    ]


def burst_marks(serve: ServeProcess, numbers: list[int]) -> dict[str, float]:
    """Where a burst's time goes, from the serve's store (its clock), as seconds from
    the first item created: the last item created, build started and finished, report
    queued and review POSTed."""
    (row,) = serve.query(
        "SELECT MIN(i.created_at), MAX(i.created_at), MAX(b.started_at), MAX(b.finished_at), "
        "MAX(i.finished_at), MAX(r.finished_at) FROM items i JOIN builds b ON b.item_id = i.id "
        "JOIN reports r ON r.change_number = i.change_number AND r.connection = 'sandbox' "
        "WHERE i.change_number BETWEEN ? AND ?",
        min(numbers),
        max(numbers),
    )
    first, *rest = (datetime.fromisoformat(value) for value in row)
    names = ("last item created", "last build started", "last build finished",
             "last report queued", "last review POSTed")  # fmt: skip
    return {name: (mark - first).total_seconds() for name, mark in zip(names, rest, strict=True)}


async def measure(state: SandboxState, scratch: Path, args: argparse.Namespace) -> None:
    count, slots, rounds = args.changes, args.slots, args.rounds
    ci_yaml = trivial_config(state.projects[0], slots=slots)
    os.environ["CROSSCHECK_CACHE_DIR"] = str(scratch / "cache")  # a mirror of the bench's own
    serve = ServeProcess(write_config(state, scratch / "config", ci_yaml=ci_yaml), scratch / "s")
    serve.start()
    try:
        await serve.ready()
        repo = await SandboxRepo(state, state.projects[0], scratch / "repo").open()
        async with stream_events(state) as stream:
            await one_burst(state, repo, stream, args.warmup)
            logs = serve.state / "logs"
            seen = set(logs.rglob("console.log"))
            totals, builds, workspaces = [], [], []
            marks: dict[str, list[float]] = {}
            cpu: dict[str, list[float]] = {}
            for _ in range(rounds):
                cpu_before = cpu_of(serve, state)
                total, numbers = await one_burst(state, repo, stream, count)
                totals.append(total)
                cpu_after = cpu_of(serve, state)
                sides = zip(CPU_OF, cpu_after, cpu_before, strict=True)
                for name, spent, was in sides:
                    cpu.setdefault(name, []).append((spent - was) / count)
                builds += build_times(serve, numbers)
                await asyncio.sleep(1)  # the last review's row is written after its POST
                for name, after in burst_marks(serve, numbers).items():
                    marks.setdefault(name, []).append(after)
            for console in set(logs.rglob("console.log")) - seen:
                seconds = workspace_time(console)
                if seconds is not None:
                    workspaces.append(seconds)
    finally:
        serve.stop()
    print(f"crosscheck from {Path(crosscheck.__file__).parent}")
    print(f"{rounds} burst(s) of {count} changes at once, {slots} local slots, one job each:")
    print(f"  push start -> last vote       median {statistics.median(totals) * 1000:8.1f} ms")
    print("  from the first item created (the serve's store), median:")
    for name, values in marks.items():
        print(f"    {name:28s} {statistics.median(values) * 1000:8.1f} ms")
    print(
        "  CPU per change (user + system, children included), median: "
        f"crosscheck serve {statistics.median(cpu['serve']) * 1000:.0f} ms "
        f"(its own Python {statistics.median(cpu['serve alone']) * 1000:.0f} ms), "
        f"Gerrit {statistics.median(cpu['gerrit']) * 1000:.0f} ms"
    )
    for name, values in (("build (store)", builds), ("workspace (console)", workspaces)):
        print(
            f"  per build: {name:20s} median {statistics.median(values) * 1000:7.1f} ms   "
            f"p95 {p95(values) * 1000:7.1f} ms   ({len(values)} builds)"
        )


async def main(args: argparse.Namespace) -> None:
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="crosscheck-burst-") as scratch_dir:
        scratch = Path(scratch_dir)
        if args.state_dir is not None:
            state = SandboxState.load(args.state_dir)
            await measure(state, scratch, args)
        else:
            box = Sandbox(scratch / "sandbox")
            state = (await box.up()).state
            try:
                await measure(state, scratch, args)
            finally:
                box.down()
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2, help="changes of a first burst")
    parser.add_argument("--state-dir", type=Path, default=None, help="reuse a running sandbox")
    asyncio.run(main(parser.parse_args()))
