"""Connections: the outside systems crosscheck listens to and reports to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crosscheck.model.events import Account


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

    def ignores_as_own(self, account: Account | None) -> bool:
        """Whether an event by `account` is the CI's own, which triggers nothing."""
        own = account is not None and self.user.casefold() in account.names
        return self.ignore_own_events and own
