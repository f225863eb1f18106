"""The peers bench at a tiny size: crosscheck and a real Buildbot (installed from PyPI into
the bench's own venv) on the session's sandbox, each voting on its own project."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.peers.buildbot import measure
from bench.peers.gerrit_setup import CROSSCHECK_PROJECT, PEER_PROJECT, PEER_USER
from bench.peers.measure import Sizes
from bench.peers.report import print_report

from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.sandbox.gerrit import SandboxState

from .gerrit_clients import admin_rest

TINY = Sizes(pushes=2, warmup=1, burst=3, settle=1, idle_seconds=5)


def table_rows(output: str) -> dict[str, list[str]]:
    """The table's figure rows: name -> the cells after it."""
    rows = [line.split("|") for line in output.splitlines() if line.count("|") == 4]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


async def test_peers_bench_measures_both_cis_on_their_own_projects(
    sandbox: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sides, versions = await measure(sandbox, tmp_path, TINY)
    print_report(sides, versions, TINY)
    output = capsys.readouterr().out

    # Every change got its side's Verified +1: the warm-up, the timed pushes, the burst.
    for side in sides:
        assert side.votes == TINY.warmup + TINY.pushes + TINY.burst, side.name
        assert len(side.push_to_vote) == TINY.pushes
        # Gerrit's own event comes before the CI's vote on each change.
        assert all(e < v for e, v in zip(side.push_to_event, side.push_to_vote, strict=True))
        assert len(side.burst_per_change) == TINY.burst
        # Gerrit's last event of the burst comes before the side's last vote.
        assert 0 < side.burst_gerrit_seconds < side.burst_seconds
        assert 0 < side.idle_pss_mib <= side.idle_rss_mib  # shared pages counted once
    assert versions["Buildbot"].startswith("4.")
    rows = table_rows(output)
    assert len(rows) == 12
    # schedstat counts nanoseconds on a CPU: a figure, never negative, on both sides.
    on_cpu = rows["idle CPU, schedstat (ms/min)"]
    assert float(on_cpu[0]) >= 0
    assert float(on_cpu[1]) >= 0
    for name, (ours, theirs, _, _) in rows.items():
        if not name.startswith("idle CPU"):  # an idle window this short may see no tick
            assert float(ours) > 0, name
            assert float(theirs) > 0, name
    assert "buildbot-worker" in output  # the worker's process was measured with the master

    # Each CI triggered on its own project alone.
    async with admin_rest(sandbox) as admin:
        for project, voter, stranger in (
            (CROSSCHECK_PROJECT, sandbox.ci.username, PEER_USER),
            (PEER_PROJECT, PEER_USER, sandbox.ci.username),
        ):
            assert await reviewed_by(admin, project, voter), f"{voter} never reviewed {project}"
            assert not await reviewed_by(admin, project, stranger), f"{stranger} on {project}"


async def reviewed_by(admin: GerritRestClient, project: str, user: str) -> list[object]:
    """The project's changes on which the user commented or voted."""
    found: list[object] = await admin.get(
        "/changes/", {"q": f"project:{project} reviewedby:{user}"}
    )
    return found
