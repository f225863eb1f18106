"""One `crosscheck serve` on two real sandbox Gerrits, `upstream` and `integrating`:
each change is built and reported once, on its own Gerrit, whatever the other does.

The serve is shared by the module; each test pushes changes of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crosscheck.sandbox.gerrit import PushedChange

from .ci_loop_harness import ci_messages, ci_vote, poll
from .conftest import crosscheck
from .two_gerrits import (
    INTEGRATING,
    UPSTREAM,
    Gerrit,
    TwoGerrits,
    align_change_numbers,
    running_two_gerrits,
)

#: Seconds after the last expected report in which a stray or doubled one would show.
SETTLE = 2.0
CONNECTED = "crosscheck_gerrit_stream_connected"
CONNECTS = "crosscheck_gerrit_stream_reconnects_total"


@pytest.fixture(scope="module")
def gerrits(
    sandbox_dir: Path, second_sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoGerrits]:
    directory = tmp_path_factory.mktemp("two-gerrits")
    with running_two_gerrits(sandbox_dir, second_sandbox_dir, directory) as running:
        yield running


async def reported_once(
    gerrits: TwoGerrits, gerrit: Gerrit, pushed: PushedChange, timeout: float = 90
) -> Any:
    """The change's detail with its one report; the change was built once."""
    await gerrit.wait_reports(pushed, gerrits.serve, timeout=timeout)
    await asyncio.sleep(SETTLE)
    detail = await gerrit.detail(pushed)
    assert len(ci_messages(detail)) == 1, ci_messages(detail)
    assert gerrits.serve.built(gerrit.name, pushed) == ["hello"]
    return detail


async def test_the_same_change_number_on_both_gerrits_is_two_changes(
    gerrits: TwoGerrits,
) -> None:
    hold, gate = gerrits.hold()
    number = await align_change_numbers(gerrits.upstream, gerrits.integrating)
    passing = await gerrits.upstream.push({**hold, "up.txt": "up\n"}, "Passes upstream")
    failing = await gerrits.integrating.push({**hold, "FAIL": "\n"}, "Fails integrating")
    assert passing.number == failing.number == number
    assert passing.patchset == failing.patchset == 1

    async def both_queued() -> list[Any] | None:
        status = await asyncio.to_thread(gerrits.serve.status)
        (check,) = [p for p in status["pipelines"] if p["name"] == "check"]
        items = [i for i in check["items"] if i["change"] == number]
        return items if len(items) == 2 else None

    items = await poll(both_queued, 60, f"both changes {number} in the status", gerrits.serve)
    assert sorted((i["connection"], i["project"], i["patchset"]) for i in items) == [
        (INTEGRATING, failing.project, 1),
        (UPSTREAM, passing.project, 1),
    ]
    await gerrits.wait_held(gate)
    gerrits.release(gate)

    # Mixed up, a change would get the other's vote, or both reports.
    upstream = await reported_once(gerrits, gerrits.upstream, passing)
    integrating = await reported_once(gerrits, gerrits.integrating, failing)
    assert ci_vote(upstream) == 1
    assert ci_vote(integrating) == -1
    # A pipeline reporting to both Gerrits reports each change to its own, quietly.
    assert "not supported" not in gerrits.serve.log.read_text()


async def test_a_stream_cut_on_one_gerrit_leaves_the_other_undisturbed(
    gerrits: TwoGerrits,
) -> None:
    serve = gerrits.serve
    upstream_connects = await serve.metric(CONNECTS, UPSTREAM)
    async with gerrits.integrating.stream_cut():

        async def cut() -> bool | None:
            return await serve.metric(CONNECTED, INTEGRATING) == 0 or None

        await poll(cut, 30, "the integrating stream to drop", serve)
        unheard = await gerrits.integrating.push({"cut.txt": "cut\n"}, "Pushed during the cut")
        meanwhile = await gerrits.upstream.push({"on.txt": "on\n"}, "Pushed meanwhile upstream")
        await gerrits.upstream.wait_reports(meanwhile, serve, timeout=30)
        assert await gerrits.integrating.messages(unheard) == []
        assert await serve.metric(CONNECTED, INTEGRATING) == 0  # still cut: nothing heard
    assert ci_vote(await reported_once(gerrits, gerrits.integrating, unheard)) == 1
    assert ci_vote(await reported_once(gerrits, gerrits.upstream, meanwhile)) == 1
    assert serve.origins(INTEGRATING, unheard) == ["catchup"]  # heard once reconnected
    assert serve.origins(UPSTREAM, meanwhile) == ["stream"]
    assert await serve.metric(CONNECTS, UPSTREAM) == upstream_connects
    assert await serve.metric(CONNECTED, UPSTREAM) == 1


async def test_a_gerrit_stopped_meanwhile_gets_its_vote_once_it_is_back(
    gerrits: TwoGerrits, second_sandbox_dir: Path
) -> None:
    serve = gerrits.serve
    hold, gate = gerrits.hold()
    waiting = await gerrits.integrating.push(hold, "Built while its Gerrit is down")
    await gerrits.wait_held(gate)
    await asyncio.to_thread(crosscheck, second_sandbox_dir, "down")
    try:
        gerrits.release(gate)
        meanwhile = await gerrits.upstream.push({"up.txt": "up\n"}, "Voted on meanwhile")
        assert ci_vote(await gerrits.upstream.wait_reports(meanwhile, serve)) == 1

        async def vote_waits() -> list[Any] | None:
            status = await asyncio.to_thread(serve.status)
            pending = [
                r
                for r in status["reports"]["pending"]
                if r["destination"] == INTEGRATING and r["change"] == waiting.number
            ]
            return pending if pending and pending[0]["attempts"] >= 1 else None

        await poll(vote_waits, 60, "the vote to wait for its Gerrit", serve)
    finally:
        await asyncio.to_thread(crosscheck, second_sandbox_dir, "up")
    # The stream comes back after its backoff; the vote is sent once it caught up.
    assert ci_vote(await reported_once(gerrits, gerrits.integrating, waiting, 150)) == 1
