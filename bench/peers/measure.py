"""What the bench measures of each CI, the same way for both: push -> vote, a burst, idle.

A vote is the CI account's `comment-added` event with Verified on the stream the bench
subscribes to; its time is when the bench read it, against the start of `git push`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.gerrit_clients import EventStream

from bench.ci_loop import on_change, voted_by
from bench.peers import proctree
from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo

#: Seconds one change may take to be voted on, and a whole burst.
VOTE_TIMEOUT = 120.0
BURST_TIMEOUT = 900.0


@dataclass(frozen=True)
class Sizes:
    """How much the bench does; the defaults are issue 18's."""

    pushes: int = 20
    warmup: int = 2
    burst: int = 30
    slots: int = 4
    settle: float = 15.0
    idle_seconds: float = 60.0
    #: Seconds of quiet before each alternating push: a CI still finishing its last
    #: build (its worker, logs, database) would otherwise slow the other's next one.
    gap: float = 2.0


@dataclass
class Side:
    """One CI: its project, the account whose vote ends a change, its processes."""

    name: str
    voter: str
    #: Clones of the CI's project; the first for single pushes, all of them for a burst.
    repos: Sequence[SandboxRepo]
    pids: Callable[[], list[int]]
    push_to_vote: list[float] = field(default_factory=list)
    #: Gerrit's own part of each: push start -> the change's patchset-created event.
    push_to_event: list[float] = field(default_factory=list)
    burst_seconds: float = 0.0
    #: Gerrit's own part of the burst: the first push's start -> the last change's
    #: patchset-created event (what no CI can vote before).
    burst_gerrit_seconds: float = 0.0
    burst_per_change: list[float] = field(default_factory=list)
    idle_cpu_per_minute: float = 0.0
    #: The same from schedstat, to the nanosecond (living threads only).
    idle_on_cpu_per_minute: float = 0.0
    #: The processes measured idle, at the end of the window.
    idle_memory: list[proctree.Memory] = field(default_factory=list)
    votes: int = 0

    @property
    def idle_rss_mib(self) -> float:
        return sum(process.rss_mib for process in self.idle_memory)

    @property
    def idle_pss_mib(self) -> float:
        return sum(process.pss_mib for process in self.idle_memory)


async def push(repo: SandboxRepo, label: str) -> tuple[PushedChange, float]:
    """A new change on the branch tip; with the perf_counter() its push started at."""
    began = time.perf_counter()
    files = {f"bench/{uuid.uuid4().hex[:8]}": f"{label}\n"}
    return await repo.push_change(files, f"Bench {label}"), began


async def vote_on(side: Side, stream: EventStream, pushed: PushedChange, timeout: float) -> float:
    """When the side's Verified +1 on the change was read; a -1 fails the bench."""
    event = await stream.wait_for(
        on_change(pushed.number, "comment-added", voted_by(side.voter)), timeout=timeout
    )
    value = verified(event)
    if value != 1:
        raise AssertionError(f"{side.name} voted Verified {value} on change {pushed.number}")
    side.votes += 1
    return stream.arrival(event)


def verified(event: dict[str, Any]) -> int:
    return next(int(a["value"]) for a in event["approvals"] if a.get("type") == "Verified")


async def one_change(side: Side, stream: EventStream, label: str) -> tuple[float, float]:
    """Seconds from the start of the push to the change's event and to the side's vote,
    both read on the stream."""
    pushed, began = await push(side.repos[0], label)
    voted = await vote_on(side, stream, pushed, VOTE_TIMEOUT)
    created = await stream.wait_for(
        on_change(pushed.number, "patchset-created"), timeout=VOTE_TIMEOUT
    )
    return stream.arrival(created) - began, voted - began


async def alternate(
    sides: Sequence[Side], stream: EventStream, pushes: int, warmup: int, gap: float = 0.0
) -> None:
    """Push, wait for the vote, then the same on the other side after `gap` seconds;
    warm-ups not kept."""
    for index in range(warmup + pushes):
        for side in sides:
            await asyncio.sleep(gap)
            to_event, to_vote = await one_change(side, stream, f"{side.name} {index}")
            if index >= warmup:
                side.push_to_event.append(to_event)
                side.push_to_vote.append(to_vote)


async def burst(side: Side, stream: EventStream, size: int) -> None:
    """`size` changes pushed at once, from clones of their own; from the first push's
    start to the last vote and to Gerrit's last patchset-created event, and each
    change's own push -> vote."""
    began = time.perf_counter()
    pushed = await asyncio.gather(
        *(push(repo, f"{side.name} burst {i}") for i, repo in enumerate(side.repos[:size]))
    )
    votes = await asyncio.gather(
        *(vote_on(side, stream, change, BURST_TIMEOUT) for change, _ in pushed)
    )
    side.burst_seconds = max(votes) - began
    created = [
        await stream.wait_for(on_change(change.number, "patchset-created"), timeout=VOTE_TIMEOUT)
        for change, _ in pushed
    ]
    side.burst_gerrit_seconds = max(stream.arrival(event) for event in created) - began
    side.burst_per_change = [vote - start for vote, (_, start) in zip(votes, pushed, strict=True)]


async def idle(sides: Sequence[Side], seconds: float) -> None:
    """Both sides idle in the same window: CPU time of each whole process tree before and
    after, per minute, and its resident memory at the end."""
    before = []
    for side in sides:
        pids = proctree.tree(side.pids())
        before.append((proctree.cpu_seconds(pids), proctree.on_cpu_seconds(pids), time.monotonic()))
    await asyncio.sleep(seconds)
    for side, (cpu, on_cpu, at) in zip(sides, before, strict=True):
        pids = proctree.tree(side.pids())
        minutes = (time.monotonic() - at) / 60
        side.idle_cpu_per_minute = (proctree.cpu_seconds(pids) - cpu) / minutes
        side.idle_on_cpu_per_minute = (proctree.on_cpu_seconds(pids) - on_cpu) / minutes
        side.idle_memory = proctree.memory_of(pids)
