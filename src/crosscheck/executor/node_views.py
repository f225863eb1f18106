"""Nodes as operators see them (`crosscheck nodes`, the status API, the page) and as
Prometheus counts them: read from the pool's state, never changing it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from crosscheck import metrics
from crosscheck.executor.lab_state import NodeRuntime
from crosscheck.executor.local import ProviderStatistics
from crosscheck.model.node import Lab

STATES = ("ready", "in-use", "held", "drained", "unhealthy", "cleaning", "unchecked")


@dataclass(frozen=True)
class NodeView:
    """One node as operators see it (`crosscheck nodes`, the status API, the page)."""

    name: str
    kind: str
    host: str
    labels: tuple[str, ...]
    pod: str | None
    state: str
    reason: str
    builds: tuple[str, ...]
    slots: int
    held_by: str | None = None
    hold_reason: str = ""
    hold_until: datetime | None = None
    kept_dir: str | None = None
    drained: bool = False
    checked_at: datetime | None = None


def node_views(
    local: ProviderStatistics,
    lab: Lab,
    runtimes: Iterable[NodeRuntime],
    pod_of: Mapping[str, str],
) -> list[NodeView]:
    slots = NodeView(
        name="local",
        kind="local",
        host="localhost",
        labels=tuple(sorted(lab.local_labels)),
        pod=None,
        state="in-use" if local.in_use else "ready",
        reason="",
        builds=local.builds,
        slots=local.slots,
    )
    return [slots, *(_view(r, pod_of) for r in sorted(runtimes, key=lambda r: r.name))]


def _view(runtime: NodeRuntime, pod_of: Mapping[str, str]) -> NodeView:
    spec = runtime.spec
    return NodeView(
        name=runtime.name,
        kind="ssh",
        host=spec.address,
        labels=spec.labels,
        pod=pod_of.get(runtime.name),
        state=runtime.state,
        reason=runtime.reason if runtime.healthy is False else "",
        builds=tuple(runtime.builds[s] for s in sorted(runtime.builds)),
        slots=spec.max_builds,
        held_by=runtime.held_by,
        hold_reason=runtime.hold_reason,
        hold_until=runtime.hold_until,
        kept_dir=runtime.kept_dir,
        drained=runtime.drained,
        checked_at=runtime.checked_at,
    )


def set_gauges(views: list[NodeView], local_in_use: int) -> None:
    """Nodes by state, and each node's builds and slots (this host's slots first)."""
    _, *ssh = views
    for state in STATES:
        metrics.nodes.labels(state).set(sum(1 for v in ssh if v.state == state))
    metrics.node_builds.labels("local").set(local_in_use)
    for view in views:
        metrics.node_slots.labels(view.name).set(view.slots)
    for view in ssh:
        metrics.node_builds.labels(view.name).set(len(view.builds))
