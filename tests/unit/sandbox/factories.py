"""Builders for sandbox state in unit tests (no Gerrit involved)."""

from __future__ import annotations

from pathlib import Path

from crosscheck.sandbox.gerrit.state import Account, SandboxState


def make_state(root: Path, http_port: int = 18080, ssh_port: int = 29418) -> SandboxState:
    return SandboxState(
        state_dir=root,
        gerrit_version="3.10.2",
        http_port=http_port,
        ssh_port=ssh_port,
        admin=Account(username="admin", email="admin@example.com", ssh_key=root / "keys/admin"),
        ci=Account(username="crosscheck-ci", email="ci@example.com", ssh_key=root / "keys/ci"),
    )
