"""The nodes as operators see them name the builds holding this host's slots."""

from __future__ import annotations

from pathlib import Path

from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.pool import NodePool
from crosscheck.model.node import Lab


async def test_the_local_node_names_the_builds_running_on_it(tmp_path: Path) -> None:
    nodes = NodePool(Lab(nodes={}), LocalNodeProvider(tmp_path, 2))
    async with nodes.acquire("b-1"), nodes.acquire("b-2"):
        (local,) = nodes.views()
        assert (local.name, local.state, local.builds) == ("local", "in-use", ("b-1", "b-2"))
    async with nodes.acquire("b-3"):
        assert nodes.views()[0].builds == ("b-3",)
    (local,) = nodes.views()
    assert (local.state, local.builds) == ("ready", ())
