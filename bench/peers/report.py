"""The bench's table: each figure for crosscheck and the peer, their ratio, the goal."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import median

from bench.ci_loop import p95
from bench.peers.measure import Side, Sizes


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    value: Callable[[Side], float]
    #: The ratio crosscheck / peer the project aims at; None when it has none.
    goal: float | None = None
    decimals: int = 2


def figures(burst: int) -> list[Figure]:
    return [
        Figure("push->vote median", "ms", lambda s: median(s.push_to_vote) * 1000, 0.25),
        Figure("push->vote p95", "ms", lambda s: p95(s.push_to_vote) * 1000),
        Figure("of which Gerrit's push->event, median", "ms", _gerrit_part),
        Figure("push->vote minus Gerrit's push->event", "ms", _beyond_gerrit),
        Figure(f"burst of {burst}: first push->last vote", "s", lambda s: s.burst_seconds, 0.3),
        Figure(f"burst of {burst}: Gerrit's first push->last event", "s", _burst_gerrit),
        Figure(f"burst of {burst}: last vote minus Gerrit's last event", "s", _burst_beyond),
        Figure(f"burst of {burst}: per-change median", "s", lambda s: median(s.burst_per_change)),
        Figure("idle RSS, whole process tree", "MiB", lambda s: s.idle_rss_mib, 0.8, 1),
        Figure("idle PSS, whole process tree", "MiB", lambda s: s.idle_pss_mib, None, 1),
        Figure("idle CPU, whole process tree", "s/min", lambda s: s.idle_cpu_per_minute, 1.0, 3),
        Figure("idle CPU, schedstat", "ms/min", lambda s: s.idle_on_cpu_per_minute * 1000, 1.0),
    ]


def _gerrit_part(side: Side) -> float:
    return median(side.push_to_event) * 1000


def _beyond_gerrit(side: Side) -> float:
    """The CI's own share: each change's vote minus its own event, median."""
    return median(v - e for v, e in zip(side.push_to_vote, side.push_to_event, strict=True)) * 1000


def _burst_gerrit(side: Side) -> float:
    return side.burst_gerrit_seconds


def _burst_beyond(side: Side) -> float:
    """The CI's own share of the burst: how long its last vote came after Gerrit's
    last event."""
    return side.burst_seconds - side.burst_gerrit_seconds


def ratio(ours: float, theirs: float) -> str:
    """crosscheck / peer; n/a when the peer's figure is 0 (idle CPU under one clock tick)."""
    return f"{ours / theirs:.2f}" if theirs else "n/a"


def print_report(sides: Sequence[Side], versions: dict[str, str], sizes: Sizes) -> None:
    ours, theirs = sides
    print("versions: " + "; ".join(f"{name} {version}" for name, version in versions.items()))
    print(
        f"{sizes.pushes} alternating pushes each after {sizes.warmup} warm-up(s); bursts of "
        f"{sizes.burst} with {sizes.slots} builds at once on each side; idle window "
        f"{sizes.idle_seconds:g} s after {sizes.settle:g} s; votes seen: "
        f"{ours.name} {ours.votes}, {theirs.name} {theirs.votes}"
    )
    header = f"{'figure':44s} | {ours.name:>10s} | {theirs.name:>10s} | ratio | goal"
    print(header)
    print("-" * len(header))
    for figure in figures(sizes.burst):
        mine, peer = figure.value(ours), figure.value(theirs)
        goal = f"<= {figure.goal:g}" if figure.goal is not None else ""
        print(
            f"{figure.name + ' (' + figure.unit + ')':44s} | {mine:10.{figure.decimals}f} | "
            f"{peer:10.{figure.decimals}f} | {ratio(mine, peer):>5s} | {goal}"
        )
    print(
        f"(/proc/PID/stat counts CPU in clock ticks of {1 / os.sysconf('SC_CLK_TCK'):g} s, "
        "reaped children included; schedstat in nanoseconds, the living threads)"
    )
    for side in sides:
        processes = ", ".join(
            f"{p.name} {p.rss_mib:.1f} ({p.pss_mib:.1f})" for p in side.idle_memory
        )
        print(f"{side.name}'s processes measured idle, RSS (PSS) MiB: {processes}")
