"""API tokens: 256 random bits shown once; only their SHA-256 is kept.

A slow password hash (scrypt) protects guessable secrets; these tokens are not
guessable, so one SHA-256 is enough and lets the store find an account by
token with an index instead of trying every hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: Makes a leaked token recognisable to secret scanners and people.
PREFIX = "ccr_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, so response times reveal nothing about the secret."""
    return hmac.compare_digest(given.encode(), expected.encode())
