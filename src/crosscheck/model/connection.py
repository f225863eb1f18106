"""Connections: the outside systems crosscheck listens to and reports to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GerritConnection:
    """How to reach one Gerrit server as the CI account. Secrets are referenced, never held."""

    name: str
    host: str
    user: str
    http_url: str
    ssh_port: int = 29418
    ssh_key: Path | None = None
    known_hosts: Path | None = None
    verify_host_keys: bool = True
    http_password_env: str | None = None
    http_password_file: Path | None = None
    webhook_token_env: str | None = None
    webhook_token_file: Path | None = None
    #: Events by the CI account itself (`user`) trigger nothing: its own review
    #: messages must never trigger another build (a vote storm).
    ignore_own_events: bool = True
    #: More accounts whose events trigger nothing (other CIs), as usernames or emails,
    #: casefolded.
    ignore_accounts: frozenset[str] = frozenset()
