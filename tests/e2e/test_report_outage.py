"""Gerrit stopped for 3 minutes while a build finishes: the vote comes after it returns,
once. A real `crosscheck serve`, the sandbox Gerrit stopped and started with the real
CLI; `crosscheck status` shows the report waiting meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from crosscheck.sandbox.gerrit import SandboxRepo, SandboxState

from .ci_loop_harness import (
    PROJECT,
    ServeProcess,
    ci_messages,
    ci_vote,
    get,
    poll,
    wait_reports,
    write_config,
)
from .conftest import crosscheck

#: How long Gerrit stays down, as the issue says.
OUTAGE = 180
#: Seconds `hello` sleeps: time enough to stop Gerrit before the build ends (a value no
#: other test uses, so its `sleep` process is this build's).
BUILD_SECONDS = 37


def build_sleeping(serve: ServeProcess) -> bool:
    """Whether this build's `sleep` runs (in a work directory of this serve)."""
    work = serve.state / "work"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes().decode().split("\0")[:-1]
                if command == ["sleep", str(BUILD_SECONDS)] and Path(
                    os.readlink(entry / "cwd")
                ).is_relative_to(work):
                    return True
    return False


def report_rows(serve: ServeProcess, change: int) -> list[Any]:
    return serve.query(
        "SELECT state, attempts, detail FROM reports WHERE change_number = ? "
        "AND connection = 'sandbox'",
        change,
    )


async def test_gerrit_stopped_for_three_minutes_gives_the_vote_once_after_it_returns(
    sandbox_dir: Path, tmp_path: Path
) -> None:
    sandbox = SandboxState.load(sandbox_dir)
    # The harness's `running_serve` runs its own event loop: this test is async.
    serve = ServeProcess(write_config(sandbox, tmp_path / "config"), tmp_path / "state")
    serve.start()
    try:
        await serve.ready()
        await vote_after_an_outage(sandbox, sandbox_dir, tmp_path, serve)
    finally:
        serve.stop()


async def vote_after_an_outage(
    sandbox: SandboxState, sandbox_dir: Path, tmp_path: Path, serve: ServeProcess
) -> None:
    work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    pushed = await work.push_change(
        {f"outage-{uuid.uuid4().hex[:8]}.txt": "1\n", "SLEEP": f"{BUILD_SECONDS}\n"},
        "Voted after an outage",
    )

    async def sleeping() -> bool | None:
        return True if build_sleeping(serve) else None

    # Past the workspace (fetched from Gerrit): only the report needs Gerrit now.
    await poll(sleeping, 90, "the build's sleep", serve)
    try:
        crosscheck(sandbox_dir, "down")
        stopped = time.monotonic()

        async def retrying() -> list[Any] | None:
            rows = report_rows(serve, pushed.number)
            return rows if rows and rows[0][0] == "pending" and rows[0][1] >= 2 else None

        # The build ends, its report fails, waits, fails again: still pending.
        ((state, attempts, detail),) = await poll(
            retrying, OUTAGE, "the report to be retried", serve
        )
        assert (state, attempts >= 2) == ("pending", True)
        assert f"cannot read change {pushed.number}" in detail
        await shown_waiting(serve, pushed.number)
        while time.monotonic() - stopped < OUTAGE:
            serve.require_alive()
            await asyncio.sleep(1)
        assert report_rows(serve, pushed.number)[0][0] in ("pending", "sending")
    finally:
        crosscheck(sandbox_dir, "up")  # other tests share the sandbox

    async def sent() -> list[Any] | None:
        rows = report_rows(serve, pushed.number)
        return rows if rows and rows[0][0] == "sent" else None

    # The queue's backoff is capped at two minutes, and Gerrit takes a while to start.
    ((_, attempts, _),) = await poll(sent, 240, "the report to be sent", serve)
    assert attempts > 2
    change = await wait_reports(sandbox, pushed, serve)
    assert len(ci_messages(change)) == 1
    assert ci_vote(change) == 1
    votes = [v for v in change["labels"]["Verified"].get("all", []) if v.get("value")]
    assert [(v["username"], v["value"]) for v in votes] == [("crosscheck-ci", 1)]
    # The retry was logged at WARNING, one line per record.
    (key,) = serve.query(
        "SELECT report_key FROM reports WHERE change_number = ? AND connection = 'sandbox'",
        pushed.number,
    )[0]
    log = serve.log.read_text()
    assert re.search(rf"WARNING crosscheck\.reports\.queue: report {key} .* attempt 1 failed ", log)


async def shown_waiting(serve: ServeProcess, change: int) -> None:
    """The status API and `crosscheck status` list the waiting report and its error."""
    answer = await get(f"{serve.url}/api/v1/status")
    answer.raise_for_status()
    pending = [r for r in answer.json()["reports"]["pending"] if r["change"] == change]
    (report,) = [r for r in pending if r["destination"] == "sandbox"]
    assert report["attempts"] >= 1
    assert f"cannot read change {change}" in report["detail"]
    shown = subprocess.run(
        [sys.executable, "-m", "crosscheck", "status", "--url", serve.url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert "report(s) waiting to be delivered" in shown.stdout
    assert f"{change},1" in shown.stdout
    assert f"cannot read change {change}" in shown.stdout
