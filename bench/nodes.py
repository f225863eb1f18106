"""Builds on SSH nodes against builds on this host: the overhead per build, throughput.

A lab of `--nodes` real sshd hosts (network namespaces; needs root, like the e2e
tests), a small project served over file://, and a job that writes one artifact:

- one build at a time, SSH and local interleaved (`--rounds` of each): the median
  build, the SSH build's overhead above the local one, and where it goes: the check
  before use, sending the workspace, copying the artifacts back; and a new connection
  (a node's first build and each periodic check pay it, later builds share one);
- `--builds` builds queued at once over the nodes (one build each at a time) and over
  as many local slots: builds per second each way.

    python -m bench.nodes [--builds 200] [--nodes 4] [--rounds 30]

The console's delay to a following browser is measured by `bench.console`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from tests.e2e.lab_harness import running_lab
from tests.unit.executor.gitrepos import Upstream

from crosscheck.executor import Executor, LocalNodeProvider, MirrorCache
from crosscheck.executor.pool import NodePool
from crosscheck.executor.ssh.build_node import SshBuildNode
from crosscheck.executor.ssh.connection import connect
from crosscheck.executor.ssh.host import RemoteHost
from crosscheck.model.build import BuildRequest, BuildResult, change_ref
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change, Event, PatchSet
from crosscheck.model.job import Job, RunStep
from crosscheck.model.node import Lab, SshNode
from crosscheck.sandbox.lab import Lab as LabHosts
from crosscheck.store import open_store

PROJECT = "bench/small"
JOB_STEPS = (RunStep('echo built > "$CROSSCHECK_ARTIFACTS/out.txt"'),)


def event(revision: str) -> Event:
    return Event(
        type=EventType.PATCHSET_CREATED,
        connection="local",
        created_on=0,
        project=PROJECT,
        change=Change(project=PROJECT, branch="master", number=1),
        patchset=PatchSet(1, revision, change_ref(1, 1)),
    )


def ssh_lab(hosts: LabHosts) -> Lab:
    nodes = {
        h.name: SshNode(
            h.name,
            h.address,
            hosts.user,
            key_file=hosts.client_key,
            host_key=h.host_key_line,
            labels=("ssh",),
            work_root=PurePosixPath(str(h.work_root)),
        )
        for h in hosts.hosts
    }
    return Lab(nodes=nodes, local_labels=frozenset())


@contextmanager
def timing(parts: dict[str, list[float]]) -> Iterator[None]:
    """Time the SSH node's own steps, as bench.executor times the workspace."""
    originals: dict[str, Any] = {
        "check before use": (RemoteHost, "check"),
        "send the workspace": (SshBuildNode, "push"),
        "copy artifacts back": (SshBuildNode, "pull"),
    }

    def timed(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                parts.setdefault(name, []).append(time.perf_counter() - began)

        return wrapper

    saved = {name: getattr(cls, attr) for name, (cls, attr) in originals.items()}
    for name, (cls, attr) in originals.items():
        setattr(cls, attr, timed(name, saved[name]))
    try:
        yield
    finally:
        for name, (cls, attr) in originals.items():
            setattr(cls, attr, saved[name])


class Bench:
    def __init__(self, scratch: Path, hosts: LabHosts, revision: str, upstream: Upstream) -> None:
        self.scratch = scratch
        self.connection = GerritConnection(
            name="local", host="localhost", user="ci", http_url=upstream.url
        )
        self.event = event(revision)
        self.mirrors = MirrorCache(scratch / "git")
        self.hosts = hosts
        self.count = 0

    async def executor(self, label: str, slots: int) -> tuple[Executor, NodePool]:
        local = LocalNodeProvider(self.scratch / f"work-{label}", slots)
        if label == "local":
            pool = NodePool(Lab(local_labels=frozenset({"local"})), local)
        else:
            engine = await open_store(f"sqlite+aiosqlite:///{self.scratch / 'store.db'}")
            pool = NodePool(ssh_lab(self.hosts), local, engine)
        return Executor(pool, self.scratch / f"logs-{label}", self.mirrors), pool

    async def build(self, executor: Executor, label: str) -> None:
        self.count += 1
        job = Job(name="trivial", node=label, run=JOB_STEPS)
        request = BuildRequest(
            f"bench{self.count:06d}", 1, "check", job, self.event, self.connection
        )
        outcome = await executor.run(request)
        assert outcome.result is BuildResult.SUCCESS, outcome.detail


async def first_connection(hosts: LabHosts, rounds: int) -> float:
    """A new connection (handshake, host key, login) and a command: what a node's first
    build, or a periodic check, pays; later builds share the node's connection."""
    node = next(iter(ssh_lab(hosts).nodes.values()))
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        connection = await connect(node)
        await connection.run("true", check=True)
        connection.close()
        await connection.wait_closed()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def one_at_a_time(bench: Bench, rounds: int) -> None:
    local, _ = await bench.executor("local", 1)
    ssh, pool = await bench.executor("ssh", 1)
    checks = asyncio.create_task(pool.run())
    times: dict[str, list[float]] = {"local": [], "ssh": []}
    parts: dict[str, list[float]] = {}
    await bench.build(local, "local")  # the mirror warm for both
    with timing(parts):
        for _ in range(rounds):
            for label, executor in (("local", local), ("ssh", ssh)):
                began = time.perf_counter()
                await bench.build(executor, label)
                times[label].append(time.perf_counter() - began)
    checks.cancel()
    local_s, ssh_s = (statistics.median(times[k]) for k in ("local", "ssh"))
    connecting = await first_connection(bench.hosts, rounds)
    print(f"one build at a time, medians of {rounds}:")
    print(f"  local build                {local_s * 1000:8.1f} ms")
    print(f"  SSH build                  {ssh_s * 1000:8.1f} ms")
    print(f"  overhead of SSH            {(ssh_s - local_s) * 1000:8.1f} ms, of which:")
    for name, values in parts.items():
        print(f"    {name:<24} {statistics.median(values) * 1000:8.1f} ms")
    print(f"  new connection + `true`    {connecting * 1000:8.1f} ms (a node's first build)")


async def many_at_once(bench: Bench, builds: int, nodes: int) -> None:
    rates: dict[str, float] = {}
    for label in ("local", "ssh"):
        executor, pool = await bench.executor(label, nodes)
        checks = asyncio.create_task(pool.run())
        began = time.perf_counter()
        await asyncio.gather(*(bench.build(executor, label) for _ in range(builds)))
        rates[label] = builds / (time.perf_counter() - began)
        checks.cancel()
    print(f"{builds} builds queued at once, {nodes} at a time:")
    print(f"  local slots                {rates['local']:8.1f} builds/s")
    print(f"  SSH nodes                  {rates['ssh']:8.1f} builds/s")
    print(f"  SSH throughput / local     {rates['ssh'] / rates['local']:8.2f}")


async def main(builds: int, nodes: int, rounds: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as scratch_dir,
        running_lab("cxbench", "10.231.70", nodes) as hosts,
    ):
        scratch = Path(scratch_dir)
        upstream = Upstream(scratch / "upstream")
        upstream.create(PROJECT, {f"src/file{i}.py": f"x = {i}\n" for i in range(20)})
        revision = upstream.change(PROJECT, 1, 1, {"new.py": "y = 1\n"}, "Change")
        bench = Bench(scratch, hosts, revision, upstream)
        await one_at_a_time(bench, rounds)
        await many_at_once(bench, builds, nodes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=30)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.builds, arguments.nodes, arguments.rounds))
