"""API tokens: 256 random bits shown once; only their SHA-256 is kept.

A slow password hash (scrypt) protects guessable secrets; these tokens are not
guessable, so one SHA-256 is enough and lets the store find an account by
token with an index instead of trying every hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from crosscheck.model.results import CIAccount

#: Makes a leaked token recognisable to secret scanners and people.
PREFIX = "ccr_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, so response times reveal nothing about the secret."""
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Verified:
    """A live token's account, as the store held it when the token was last checked."""

    token_hash: str
    account_id: int
    account: CIAccount
    #: The account's allowed projects as stored (JSON text): a write compares it.
    projects_json: str


class VerifiedTokens:
    """Enabled accounts by their token's SHA-256, as last read: a hint that spares a
    write the token's query, never the last word. A write with a cached account stores
    only if, in its own INSERT, the token is still live and the account still enabled
    with the same projects (records.insert_confirmed); anything else reads again, so a
    token revoked or an account disabled by another process (the CLI) counts at its
    next write. Reads and admin calls never use it."""

    def __init__(
        self, size: int = 4096, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Verified]] = {}

    def get(self, hashed: str) -> Verified | None:
        entry = self._entries.get(hashed)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            del self._entries[hashed]
            return None
        return entry[1]

    def put(self, verified: Verified) -> None:
        if not verified.account.enabled:
            # A refusal is always read fresh: the account may be enabled since.
            self.forget(verified.token_hash)
            return
        if len(self._entries) >= self.size:
            self._entries.clear()  # tokens are few; a flood of them only costs reads
        self._entries[verified.token_hash] = (self._clock() + self.ttl, verified)

    def forget(self, hashed: str) -> None:
        self._entries.pop(hashed, None)

    def clear(self) -> None:
        self._entries.clear()
