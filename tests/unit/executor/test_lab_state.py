"""Which node or POD a build gets, and why one waits: pure, no SSH."""

from __future__ import annotations

from crosscheck.executor.lab_state import NodeRuntime, choose, why_waiting
from crosscheck.executor.ssh.host import RemoteHost
from crosscheck.model.node import Lab, Pod, SshNode


def node(name: str, *labels: str, max_builds: int = 1) -> SshNode:
    return SshNode(name, f"{name}.lab", "ci", labels=labels, max_builds=max_builds)


def runtimes(lab: Lab) -> dict[str, NodeRuntime]:
    return {n.name: NodeRuntime(n, RemoteHost(n)) for n in lab.nodes.values()}


POD = Pod("pod1", ("opnfv",), {"jump": ("j",), "compute": ("c1", "c2")})
LAB = Lab(
    nodes={
        n.name: n
        for n in (
            node("a", "vendor", max_builds=2),
            node("b", "vendor"),
            node("j"),
            node("c1"),
            node("c2"),
        )
    },
    pods={"pod1": POD},
    local_labels=frozenset({"local", "vendor"}),
)


def test_the_least_busy_node_of_the_label_is_chosen_then_a_local_slot() -> None:
    state = runtimes(LAB)
    first = choose(LAB, "vendor", state, local_free=True)
    assert first is not None
    assert first.slots == (("a", 0),)
    state["a"].builds[0] = "b1"
    # a is half busy, b idle: b.
    assert choose(LAB, "vendor", state, local_free=True).slots == (("b", 0),)  # type: ignore[union-attr]
    state["b"].builds[0] = "b2"
    assert choose(LAB, "vendor", state, local_free=True).slots == (("a", 1),)  # type: ignore[union-attr]
    state["a"].builds[1] = "b3"
    local = choose(LAB, "vendor", state, local_free=True)
    assert local is not None
    assert local.local
    assert choose(LAB, "vendor", state, local_free=False) is None


def test_held_drained_unhealthy_or_dirty_nodes_take_nothing() -> None:
    state = runtimes(LAB)
    state["a"].held_by = "alice"
    state["b"].drained = True
    assert choose(LAB, "vendor", state, local_free=False) is None
    state["b"].drained = False
    state["b"].healthy = False
    assert choose(LAB, "vendor", state, local_free=False) is None
    state["b"].healthy = True
    state["b"].dirty["old"] = "/w/old"
    assert choose(LAB, "vendor", state, local_free=False) is None
    reasons = why_waiting(LAB, "vendor", state)
    assert "a held by alice" in reasons
    assert "b cleaning" in reasons
    assert "local: every slot busy" in reasons


def test_a_pod_is_taken_whole_its_runner_first_and_only_when_every_node_is_free() -> None:
    state = runtimes(LAB)
    choice = choose(LAB, "opnfv", state, local_free=True)
    assert choice is not None
    assert choice.pod == POD
    assert choice.slots == (("j", 0), ("c1", 0), ("c2", 0))
    state["c2"].healthy = False
    state["c2"].reason = "cannot connect"
    assert choose(LAB, "opnfv", state, local_free=True) is None
    assert "c2 unhealthy: cannot connect" in why_waiting(LAB, "opnfv", state)
    state["c2"].healthy = True
    state["c1"].builds[0] = "other"
    assert choose(LAB, "opnfv", state, local_free=True) is None
