"""A build's workspace from a mirror that has built many changes: its refs bounded or not.

A mirror keeps a ref for every patchset it fetched, and every fetch (what it holds,
then `rev-list --not --all`) and every workspace's clone reads them all. The mirror's
tidy-up (executor/mirror_tidy.py) forgets the refs of all but the newest changes. Here
a mirror is given `--changes` patchsets as if it had built them (one fast-import,
each a commit of its own on master), then a new change's workspace is prepared as a
build does (MirrorCache.ensure: the change and the branch tip fetched over file://,
then the shared clone and the merge), median over `--rounds`, with the mirror:

- as fetches left it: the refs loose;
- tidied, every ref kept (the tidy-up before it bounded the refs);
- tidied as now: the refs of the newest `--keep` changes kept.

    python -m bench.mirror_refs [--changes 10000] [--keep 1000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.unit.executor.gitrepos import Upstream, git

from crosscheck.executor import MirrorCache
from crosscheck.executor.git import Git
from crosscheck.executor.mirror_tidy import tidy
from crosscheck.executor.workspace import GerritRemote, WorkspaceBuilder, change_need
from crosscheck.model.build import change_ref
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change, Event, PatchSet

PROJECT = "acme/driver"


def built_changes(mirror: Path, changes: int) -> None:
    """`changes` patchsets in the mirror as if built: a commit each, on master."""
    tip = git(mirror, "rev-parse", "refs/heads/master")
    lines = []
    for number in range(1, changes + 1):
        message = f"change {number}\n"
        lines += [
            f"commit {change_ref(number, 1)}",
            "committer Dev <dev@example.org> 1700000000 +0000",
            f"data {len(message.encode())}",
            message.rstrip("\n"),
            f"from {tip}",
            f"M 100644 inline built/{number}",
            "data 2",
            "x",
            "",
        ]
    stream = "\n".join(lines) + "\n"
    subprocess.run(["git", "fast-import", "--quiet"], cwd=mirror, input=stream.encode(), check=True)


def event_for(number: int, revision: str) -> Event:
    return Event(
        type=EventType.PATCHSET_CREATED,
        connection="local",
        created_on=int(time.time()),
        project=PROJECT,
        change=Change(project=PROJECT, branch="master", number=number),
        patchset=PatchSet(1, revision, change_ref(number, 1)),
        received_at=time.time(),
    )


async def prepare_times(
    upstream: Upstream, cache: MirrorCache, scratch: Path, first: int, rounds: int
) -> list[float]:
    """Seconds to prepare each of `rounds` new changes' workspaces."""
    git_ = Git()
    builder = WorkspaceBuilder(git_, cache, GerritRemote("local", upstream.url, False), shared=True)
    times = []
    for number in range(first, first + rounds):
        revision = upstream.change(PROJECT, number, 1, {f"new/{number}": "y"}, f"Change {number}")
        event = event_for(number, revision)
        began = time.perf_counter()
        await builder.prepare(event, (), scratch / f"ws-{number}")
        times.append(time.perf_counter() - began)
    return times


def refs_of(mirror: Path) -> int:
    return len(git(mirror, "for-each-ref", "--format=%(refname)").splitlines())


async def run(changes: int, keep: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="mirror-refs-") as scratch_name:
        scratch = Path(scratch_name)
        upstream = Upstream(scratch / "upstream")
        upstream.create(PROJECT, {"README": "driver\n"})
        # Counted per process: no tidy-up of the cache's own during the measures.
        cache = MirrorCache(scratch / "git", tidy_every=10**9)
        url = GerritRemote("local", upstream.url, False).fetch_url(PROJECT)
        start = 10 * changes + 1  # the measured changes are the newest
        revision = upstream.change(PROJECT, start - 1, 1, {"seed": "x"}, "Seed")
        mirror = await cache.ensure(
            Git(), "local", PROJECT, url, change_need(event_for(start - 1, revision))
        )
        built_changes(mirror, changes)
        print(f"a mirror that built {changes:,} changes, {rounds} new changes each time:")
        states = (
            ("as fetches left it (refs loose)", None),
            ("tidied, every ref kept", 10**9),
            (f"tidied, the newest {keep:,} changes' refs kept", keep),
        )
        for label, kept in states:
            if kept is not None:
                await tidy(Git(), mirror, kept, set())
            held = refs_of(mirror)
            times = await prepare_times(upstream, cache, scratch, start, rounds)
            start += rounds
            median = statistics.median(times) * 1000
            print(f"  {label:48s} {held:>6,} refs   workspace median {median:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--keep", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    asyncio.run(run(args.changes, args.keep, args.rounds))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
