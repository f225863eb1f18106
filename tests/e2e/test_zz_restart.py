"""Runs last: the sandbox stops cleanly and comes back with its accounts and changes."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

from crosscheck.sandbox.gerrit import SandboxState

from .conftest import crosscheck
from .gerrit_clients import ci_rest


async def test_down_then_up_keeps_accounts_and_changes(sandbox_dir: Path) -> None:
    before = SandboxState.load(sandbox_dir)
    async with ci_rest(before) as rest:
        changes_before = await rest.get("/changes/", params={"q": "status:open"})

    assert "stopped" in crosscheck(sandbox_dir, "down").stdout
    status = crosscheck(sandbox_dir, "status", check=False)
    assert status.returncode == 3
    assert f"--state-dir {sandbox_dir} up" in status.stdout
    refused = crosscheck(sandbox_dir, "push", check=False)
    assert "the sandbox is stopped" in refused.stderr
    assert "started" in crosscheck(sandbox_dir, "up").stdout

    after = SandboxState.load(sandbox_dir)
    assert after.pid != before.pid
    async with ci_rest(after) as rest:
        me = await rest.get("/accounts/self")
        changes_after = await rest.get("/changes/", params={"q": "status:open"})
    assert me["username"] == "crosscheck-ci"
    assert {c["_number"] for c in changes_after} == {c["_number"] for c in changes_before}


def test_no_secret_is_written_to_any_log(sandbox_dir: Path) -> None:
    """After pushes, votes and restarts: no password or auth header in a log file."""
    state = SandboxState.load(sandbox_dir)
    secrets = {
        state.admin.http_password,
        state.ci.http_password,
        base64.b64encode(f"admin:{state.admin.http_password}".encode()).decode(),
    }
    logs = [
        p
        for p in sandbox_dir.rglob("*")
        if p.is_file() and (p.suffix == ".log" or "logs" in p.parts)
    ]
    assert logs, "Gerrit wrote no logs at all"
    leaks = [str(p) for p in logs for s in secrets if s in p.read_text(errors="replace")]
    assert leaks == []
    assert stat.S_IMODE(sandbox_dir.stat().st_mode) == 0o700
