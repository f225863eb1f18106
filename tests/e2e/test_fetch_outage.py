"""Gerrit stopped for 3 minutes before a build fetches its workspace: the build is tried
again until Gerrit is back, and the change gets its vote. With the job's three attempts
alone (30 s, then 2 minutes apart) it would have had "infrastructure error, no vote
cast" until someone asked for a recheck. A real `crosscheck serve` with one slot, the
sandbox Gerrit stopped and started with the real CLI."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from crosscheck.sandbox.gerrit import SandboxRepo, SandboxState

from .ci_loop_harness import (
    CHECK_PIPELINE,
    PROJECT,
    ServeProcess,
    ci_messages,
    ci_vote,
    poll,
    serving,
    wait_reports,
)
from .conftest import crosscheck

#: Longer than the job's attempts would last: 30 s + 120 s.
OUTAGE = 180
#: Seconds the first change's build holds the one slot: time enough to stop Gerrit
#: before the second change's build starts.
HOLD_SECONDS = 41

#: One slot; `hello` needs another project of the same Gerrit, fetched when its build
#: starts. The first change's build holds the slot while the second one's waits.
CONFIG = f"""\
- label:
    name: local
{CHECK_PIPELINE}- job:
    name: hello
    node: local
    required_projects: [sandbox/second]
    run:
      - 'if [ -f HOLD ]; then sleep $(cat HOLD); fi'
- project:
    name: {PROJECT}
    check:
      jobs: [hello]
- executor:
    slots: 1
"""


async def test_gerrit_away_when_a_build_fetches_still_ends_in_its_vote(
    sandbox_dir: Path, tmp_path: Path
) -> None:
    sandbox = SandboxState.load(sandbox_dir)
    async with serving(sandbox, tmp_path, CONFIG) as serve:
        await vote_after_a_fetch_outage(sandbox, sandbox_dir, tmp_path, serve)


async def vote_after_a_fetch_outage(
    sandbox: SandboxState, sandbox_dir: Path, tmp_path: Path, serve: ServeProcess
) -> None:
    work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    tag = uuid.uuid4().hex[:8]
    hold = {f"hold-{tag}.txt": "1\n", "HOLD": f"{HOLD_SECONDS}\n"}
    holding = await work.push_change(hold, "Holds the slot")

    async def running() -> list[Any] | None:
        rows = builds_of(serve, holding.number)
        return rows if rows and rows[0][0] == "running" else None

    await poll(running, 60, "the first change's build to hold the slot", serve)
    waiting = await work.push_change({f"wait-{tag}.txt": "1\n"}, "Waits for the slot")

    async def queued() -> list[Any] | None:
        rows = builds_of(serve, waiting.number)
        return rows if rows and rows[0][0] == "waiting" else None

    await poll(queued, 30, "the second change's build to wait for the slot", serve)
    try:
        crosscheck(sandbox_dir, "down")
        stopped = time.monotonic()
        while time.monotonic() - stopped < OUTAGE:
            serve.require_alive()
            await asyncio.sleep(1)
        away = [row for row in builds_of(serve, waiting.number) if row[2] == 1]
        assert len(away) >= 3, builds_of(serve, waiting.number)  # past the job's attempts
        assert all(row[1] == "ERROR" for row in away)
    finally:
        crosscheck(sandbox_dir, "up")  # other tests share the sandbox

    async def voted() -> list[Any] | None:
        rows = builds_of(serve, waiting.number)
        return rows if rows[-1][1] == "SUCCESS" else None

    # Tried every minute at most; Gerrit takes a while to start.
    await poll(voted, 180, "the second change's build to pass", serve)
    for pushed in (holding, waiting):
        change = await wait_reports(sandbox, pushed, serve, timeout=180)
        assert len(ci_messages(change)) == 1
        assert ci_vote(change) == 1
    assert "Gerrit is away" in serve.log.read_text()


def builds_of(serve: ServeProcess, change: int) -> list[Any]:
    """(state, result, source_away) of the change's builds, in attempt order."""
    return serve.query(
        "SELECT b.state, b.result, b.source_away FROM builds b JOIN items i ON i.id = b.item_id "
        "WHERE i.change_number = ? ORDER BY b.attempt",
        change,
    )
