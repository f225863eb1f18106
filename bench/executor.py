"""The executor's costs: preparing a workspace (cold mirror vs warm) and a trivial build.

- on a sandbox Gerrit: workspace preparation for a pushed change (fetch into the
  project's mirror, clone, checkout, merge onto the tip) with a cold mirror (a new
  cache each round), a warm one (an event without a time: the tip is fetched again),
  and one that holds the change and a tip fetched since the event (another job of the
  same change: no fetch at all); clones borrow the mirror's objects as on a local
  node; then a whole build of a job running `true`
  (node, console, workspace, step, artifacts, build.json, clean-up), and how much
  of each of those builds was not its workspace preparation;
- the same on a local repository of `--files` files (over file://), where the
  size of the project, not Gerrit, dominates.

Medians over `--rounds`. A peer: `bash -c true` started as a subprocess.

    python -m bench.executor [--rounds 10] [--files 5000] [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.e2e.source_harness import sandbox_connection
from tests.unit.executor.gitrepos import Upstream

from crosscheck.executor import Executor, LocalNodeProvider, MirrorCache
from crosscheck.executor.git import Git, HttpCredentials
from crosscheck.executor.workspace import GerritRemote, WorkspaceBuilder
from crosscheck.model.build import BuildRequest, BuildResult, change_ref
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.model.job import Job, RunStep
from crosscheck.sandbox.gerrit import Sandbox, SandboxRepo, SandboxState


async def median_of(rounds: int, work: Callable[[int], Awaitable[None]], start: int = 0) -> float:
    times = []
    for index in range(start, start + rounds):
        began = time.perf_counter()
        await work(index)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def change_event(project: str, number: int, revision: str, connection: str) -> Event:
    return Event(
        type=EventType.PATCHSET_CREATED,
        connection=connection,
        created_on=0,
        project=project,
        change=Change(project=project, branch="master", number=number),
        patchset=PatchSet(1, revision, change_ref(number, 1)),
    )


async def measure(
    scratch: Path,
    label: str,
    *,
    connection: GerritConnection,
    event: Event,
    password: str | None,
    rounds: int,
) -> None:
    credentials = (
        HttpCredentials(connection.http_url, connection.user, password) if password else None
    )
    remote = GerritRemote(connection.name, connection.http_url, credentials is not None)
    git = Git(credentials)

    async def cold(index: int) -> None:
        mirrors = MirrorCache(scratch / f"cold-{label}-{index}")
        await WorkspaceBuilder(git, mirrors, remote, shared=True).prepare(
            event, (), scratch / f"c{label}{index}"
        )

    warm_cache = MirrorCache(scratch / f"warm-{label}")
    await WorkspaceBuilder(git, warm_cache, remote, shared=True).prepare(
        event, (), scratch / f"prime-{label}"
    )

    async def warm(index: int) -> None:
        await WorkspaceBuilder(git, warm_cache, remote, shared=True).prepare(
            event, (), scratch / f"w{label}{index}"
        )

    timed = replace(event, created_on=int(time.time()), received_at=time.time())
    await WorkspaceBuilder(git, warm_cache, remote, shared=True).prepare(
        timed, (), scratch / f"prime-held-{label}"
    )

    async def held(index: int) -> None:
        await WorkspaceBuilder(git, warm_cache, remote, shared=True).prepare(
            timed, (), scratch / f"h{label}{index}"
        )

    provider = LocalNodeProvider(scratch / f"work-{label}", slots=1)
    executor = Executor(provider, scratch / f"logs-{label}", warm_cache)
    job = Job(name="trivial", node="local", run=(RunStep("true"),))

    overheads: list[float] = []
    prepared: list[float] = []  # workspace preparations since the last clear()
    prepare = WorkspaceBuilder.prepare

    async def timed_prepare(self: WorkspaceBuilder, *args: Any) -> Any:
        began = time.perf_counter()
        try:
            return await prepare(self, *args)
        finally:
            prepared.append(time.perf_counter() - began)

    async def build(index: int) -> None:
        request = BuildRequest(f"bench-{index}", 1, "check", job, event, connection)
        prepared.clear()
        began = time.perf_counter()
        outcome = await executor.run(request)
        overheads.append(time.perf_counter() - began - sum(prepared))
        assert outcome.result is BuildResult.SUCCESS, outcome.detail

    # Interleaved, so a burst of load on the shared machine hits every measure alike.
    times: dict[str, list[float]] = {"cold": [], "warm": [], "held": [], "build": []}
    WorkspaceBuilder.prepare = timed_prepare  # type: ignore[method-assign,assignment]
    try:
        for index in range(rounds):
            for name, work in (("cold", cold), ("warm", warm), ("held", held), ("build", build)):
                times[name].append(await median_of(1, work, start=index))
    finally:
        WorkspaceBuilder.prepare = prepare  # type: ignore[method-assign]
    cold_s, warm_s, held_s, build_s = (
        statistics.median(times[n]) for n in ("cold", "warm", "held", "build")
    )
    print(f"{label}:")
    print(f"  workspace, cold mirror     {cold_s * 1000:8.1f} ms")
    print(f"  workspace, warm mirror     {warm_s * 1000:8.1f} ms   ({cold_s / warm_s:.1f}x faster)")
    print(
        f"  workspace, nothing to fetch {held_s * 1000:7.1f} ms   ({cold_s / held_s:.1f}x faster)"
    )
    print(f"  build of `true` (warm)     {build_s * 1000:8.1f} ms")
    overhead = statistics.median(overheads)
    print(f"  of which not the workspace {overhead * 1000:8.1f} ms (same builds)")


async def bash_true(rounds: int) -> float:
    async def once(_: int) -> None:
        process = await asyncio.create_subprocess_exec("bash", "-c", "true")
        await process.wait()

    return await median_of(rounds, once)


async def sandbox_part(state: SandboxState, scratch: Path, rounds: int) -> None:
    repo = await SandboxRepo(state, "sandbox/ci-sandbox", scratch / "repo").open()
    pushed = await repo.push_change({f"bench-{uuid.uuid4().hex[:8]}.txt": "x\n"}, "Bench change")
    connection = sandbox_connection(state)
    event = change_event(pushed.project, pushed.number, pushed.revision, connection.name)
    await measure(
        scratch,
        "sandbox Gerrit",
        connection=connection,
        event=event,
        password=state.ci.http_password,
        rounds=rounds,
    )


async def local_part(scratch: Path, files: int, rounds: int) -> None:
    upstream = Upstream(scratch / "upstream")
    project = "bench/big"
    content = {f"dir{i % 50}/file{i}.txt": f"{i}\n" * 20 for i in range(files)}
    upstream.create(project, content)
    for round_ in range(20):  # some history
        upstream.commit(
            project, {f"dir{round_}/file{round_}.txt": f"v{round_}\n"}, f"Edit {round_}"
        )
    revision = upstream.change(project, 1, 1, {"new.txt": "new\n"}, "Change")
    connection = GerritConnection(name="local", host="localhost", user="ci", http_url=upstream.url)
    event = change_event(project, 1, revision, "local")
    await measure(
        scratch,
        f"local repository, {files} files",
        connection=connection,
        event=event,
        password=None,
        rounds=rounds,
    )


async def main(rounds: int, files: int, state_dir: Path | None) -> None:
    print(f"bash -c true as a subprocess  {await bash_true(rounds) * 1000:8.1f} ms")
    with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        await local_part(scratch, files, rounds)
        if state_dir is not None:
            await sandbox_part(SandboxState.load(state_dir), scratch, rounds)
            return
        box = Sandbox(scratch / "sandbox")
        state = (await box.up()).state
        try:
            await sandbox_part(state, scratch, rounds)
        finally:
            box.down()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--state-dir", type=Path, default=None, help="reuse a running sandbox")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.files, arguments.state_dir))
