"""The pool follows a reloaded configuration's nodes; no SSH needed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.pool import NodePool
from crosscheck.model.node import Lab, SshNode

ONE = SshNode("one", "10.0.0.1", "ci", labels=("vendor",))
TWO = SshNode("two", "10.0.0.2", "ci", labels=("vendor",))


def pool(tmp_path: Path, *nodes: SshNode) -> NodePool:
    return NodePool(Lab(nodes={n.name: n for n in nodes}), LocalNodeProvider(tmp_path, 1))


async def test_a_new_node_joins_unchecked_and_a_changed_one_is_checked_again(
    tmp_path: Path,
) -> None:
    nodes = pool(tmp_path, ONE)
    nodes.runtimes["one"].healthy = False
    nodes.runtimes["one"].reason = "host key changed: ..."
    rekeyed = replace(ONE, host_key="ssh-ed25519 AAAAnew")
    nodes.reconfigure(Lab(nodes={"one": rekeyed, "two": TWO}))
    assert [v.name for v in nodes.views()] == ["local", "one", "two"]
    assert nodes.runtimes["one"].spec == rekeyed
    assert nodes.runtimes["one"].host.node == rekeyed
    assert nodes.runtimes["one"].state == "unchecked"  # healthy None: checked before use
    assert nodes.runtimes["two"].state == "unchecked"


async def test_a_removed_node_goes_at_once_when_idle_and_after_its_builds_when_busy(
    tmp_path: Path,
) -> None:
    nodes = pool(tmp_path, ONE, TWO)
    nodes.runtimes["two"].builds[0] = "b1"
    nodes.reconfigure(Lab())
    assert "one" not in nodes.runtimes
    busy = nodes.runtimes["two"]
    assert busy.retired
    assert not busy.usable()
    del busy.builds[0]
    nodes._prune()
    assert "two" not in nodes.runtimes
    # Back in the configuration before it went: usable again.
    again = pool(tmp_path, ONE)
    again.runtimes["one"].builds[0] = "b2"
    again.reconfigure(Lab())
    again.reconfigure(Lab(nodes={"one": ONE}))
    assert not again.runtimes["one"].retired


async def test_an_unknown_node_is_named_with_those_that_exist(tmp_path: Path) -> None:
    nodes = pool(tmp_path, ONE, TWO)
    with pytest.raises(KeyError, match=r"no node 'three' \(nodes: one, two\)"):
        nodes.runtime("three")
