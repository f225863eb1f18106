"""The pool's health loop: idle while only this host's slots exist, prompt once a reload
brings an SSH node, and its gauges following local builds without it. No SSH needed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.nodes import NodeError
from crosscheck.executor.pool import NodePool
from crosscheck.model.node import Lab, SshNode
from tests.polling import until

ONE = SshNode("one", "10.0.0.1", "ci", labels=("vendor",))


class Checks:
    """Stands for the periodic work: each hold expiry and check of every node, counted."""

    def __init__(self, pool: NodePool, monkeypatch: pytest.MonkeyPatch) -> None:
        self.passes = 0
        self.checked: list[list[str]] = []
        monkeypatch.setattr(pool, "_expire_holds", self._expire)
        monkeypatch.setattr(pool, "check_all", lambda: self._check(pool))

    async def _expire(self) -> None:
        self.passes += 1

    async def _check(self, pool: NodePool) -> None:
        self.checked.append(sorted(pool.runtimes))


async def test_a_pool_of_local_slots_runs_no_health_pass_until_a_reload_adds_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A period of 0 s: a loop that still polled would pass hundreds of times here.
    pool = NodePool(Lab(check_interval=0), LocalNodeProvider(tmp_path, 1))
    checks = Checks(pool, monkeypatch)
    health = asyncio.create_task(pool.run())
    try:
        await asyncio.sleep(0.3)
        assert checks.passes == 0
        assert checks.checked == []
        assert not health.done()

        pool.reconfigure(Lab(nodes={"one": ONE}, check_interval=3600))
        # Checked at once, not in an hour.
        await until(lambda: checks.checked == [["one"]], what="the health loop")
        assert checks.passes == 1
    finally:
        health.cancel()
        await asyncio.gather(health, return_exceptions=True)


async def test_an_idle_loop_still_counts_as_checking_nodes(
    tmp_path: Path,
) -> None:
    # The loop running (idle) still means "a check may bring a node back": a labelled
    # build is refused only when no loop runs at all.
    pool = NodePool(Lab(), LocalNodeProvider(tmp_path, 1))
    health = asyncio.create_task(pool.run())
    try:
        await until(lambda: pool._checking, what="the health loop")
    finally:
        health.cancel()
        await asyncio.gather(health, return_exceptions=True)
    assert not pool._checking


async def test_the_local_gauges_follow_each_build_without_a_health_pass(tmp_path: Path) -> None:
    pool = NodePool(Lab(), LocalNodeProvider(tmp_path, 2))

    def running() -> float | None:
        return REGISTRY.get_sample_value("crosscheck_node_builds", {"node": "local"})

    async with pool.acquire("b1"):
        assert running() == 1
        async with pool.acquire("b2"):
            assert running() == 2
    assert running() == 0
    assert REGISTRY.get_sample_value("crosscheck_node_slots", {"node": "local"}) == 2


async def test_a_node_out_of_rotation_is_said_again_only_when_its_reason_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A reinstalled node: unreachable while it restarts, then back with a new host key.
    # The second problem is the one to act on, so it is said though the node was out.
    pool = NodePool(Lab(nodes={"one": ONE}), LocalNodeProvider(tmp_path, 1))
    await pool.load()
    runtime = pool.runtimes["one"]
    answers = iter(["refused", "refused", "host key changed: new", "host key changed: new"])

    async def check_afresh() -> None:
        raise NodeError(next(answers))

    monkeypatch.setattr(runtime.host, "check_afresh", check_afresh)

    def failures() -> float | None:
        return REGISTRY.get_sample_value("crosscheck_node_failures_total", {"node": "one"})

    before = failures() or 0
    with caplog.at_level(logging.WARNING, logger="crosscheck.executor.pool"):
        for _ in range(4):
            assert not await pool._check(runtime, afresh=True)
    said = [r.getMessage() for r in caplog.records if "out of rotation" in r.getMessage()]
    assert said == [
        "node one is out of rotation: refused",
        "node one is out of rotation: host key changed: new",
    ]
    assert failures() == before + 1  # one time out, however many reasons
    assert runtime.reason == "host key changed: new"
