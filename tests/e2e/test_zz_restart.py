"""Runs last: the sandbox stops cleanly and comes back with its accounts and changes."""

from __future__ import annotations

from pathlib import Path

from crosscheck.drivers.gerrit.sandbox import SandboxState

from .conftest import crosscheck
from .gerrit_clients import ci_rest


async def test_down_then_up_keeps_accounts_and_changes(sandbox_dir: Path) -> None:
    before = SandboxState.load(sandbox_dir)
    async with ci_rest(before) as rest:
        changes_before = await rest.get("/changes/", params={"q": "status:open"})

    assert "stopped" in crosscheck(sandbox_dir, "down").stdout
    assert crosscheck(sandbox_dir, "status", check=False).returncode == 3
    assert "started" in crosscheck(sandbox_dir, "up").stdout

    after = SandboxState.load(sandbox_dir)
    assert after.pid != before.pid
    async with ci_rest(after) as rest:
        me = await rest.get("/accounts/self")
        changes_after = await rest.get("/changes/", params={"q": "status:open"})
    assert me["username"] == "crosscheck-ci"
    assert {c["_number"] for c in changes_after} == {c["_number"] for c in changes_before}
