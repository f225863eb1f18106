"""What the pool knows of each SSH node and POD, and which one a build gets: pure.

A node takes a build when it is healthy (or not checked yet: the check before use
settles it), not held, not drained, clean (nothing a lost or interrupted build left is
waiting to be stopped) and has a free slot. A POD takes one when every node of it
could, and none runs anything: a POD is taken whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crosscheck.executor.ssh.host import RemoteHost
from crosscheck.model.node import Lab, Pod, SshNode


@dataclass
class NodeRuntime:
    spec: SshNode
    host: RemoteHost
    #: None until the first check.
    healthy: bool | None = None
    reason: str = "not checked yet"
    checked_at: datetime | None = None
    #: Slot -> the build holding it.
    builds: dict[int, str] = field(default_factory=dict)
    #: Build id -> its work directory on the node, for builds whose leftovers must be
    #: stopped before the node takes another (lost mid-build, or a crash).
    dirty: dict[str, str] = field(default_factory=dict)
    held_by: str | None = None
    hold_reason: str = ""
    hold_until: datetime | None = None
    kept_dir: str | None = None
    drained: bool = False
    #: Gone from the configuration while busy or unclean: it takes no build, and goes
    #: once idle and clean.
    retired: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def state(self) -> str:
        if self.dirty:
            return "cleaning"
        if self.healthy is False:
            return "unhealthy"
        if self.held_by is not None:
            return "held"
        if self.builds:
            return "in-use"
        if self.drained:
            return "drained"
        return "unchecked" if self.healthy is None else "ready"

    def usable(self) -> bool:
        return (
            self.healthy is not False
            and self.held_by is None
            and not self.drained
            and not self.dirty
            and not self.retired
        )

    def free_slot(self) -> int | None:
        if not self.usable():
            return None
        for slot in range(self.spec.max_builds):
            if slot not in self.builds:
                return slot
        return None


@dataclass(frozen=True)
class Choice:
    """One node's slot, or a whole POD's nodes (slot 0 each), or the local provider."""

    local: bool = False
    pod: Pod | None = None
    #: (node, slot) for each node taken; the first runs the steps.
    slots: tuple[tuple[str, int], ...] = ()


def choose(
    lab: Lab,
    label: str,
    runtimes: dict[str, NodeRuntime],
    local_free: bool,
) -> Choice | None:
    """The least busy single node with the label, else a free POD, else a local slot;
    None when all are busy or out."""
    singles = [
        runtime
        for runtime in runtimes.values()
        if label in runtime.spec.labels and runtime.free_slot() is not None
    ]
    if singles:
        best = min(singles, key=lambda r: (len(r.builds) / r.spec.max_builds, r.name))
        return Choice(slots=((best.name, best.free_slot() or 0),))
    for pod in sorted(lab.pods.values(), key=lambda p: p.name):
        if label in pod.labels and _pod_free(pod, runtimes):
            order = [pod.runner, *(n for n in pod.nodes if n != pod.runner)]
            return Choice(pod=pod, slots=tuple((name, 0) for name in order))
    if local_free and label in lab.local_labels:
        return Choice(local=True)
    return None


def _pod_free(pod: Pod, runtimes: dict[str, NodeRuntime]) -> bool:
    members = [runtimes.get(name) for name in pod.nodes]
    return all(m is not None and m.usable() and not m.builds for m in members)


def why_waiting(lab: Lab, label: str, runtimes: dict[str, NodeRuntime]) -> str:
    """Each provider of the label and why it cannot take the build now."""
    parts: list[str] = []
    for provider in lab.providers(label):
        if provider == "local":
            parts.append("local: every slot busy")
        elif provider.startswith("pod:"):
            pod = lab.pods[provider.removeprefix("pod:")]
            states = ", ".join(f"{n} {_describe(runtimes[n])}" for n in pod.nodes if n in runtimes)
            parts.append(f"pod {pod.name} ({states})")
        elif provider in runtimes:
            parts.append(f"{provider} {_describe(runtimes[provider])}")
    return "; ".join(parts)


def _describe(runtime: NodeRuntime) -> str:
    state = runtime.state
    if state == "unhealthy":
        return f"unhealthy: {runtime.reason}"
    if state == "held":
        return f"held by {runtime.held_by}"
    if state == "in-use":
        return f"in use ({len(runtime.builds)}/{runtime.spec.max_builds})"
    return state
