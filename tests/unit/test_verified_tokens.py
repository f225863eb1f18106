"""The tokens a results service remembers between a CI's writes (results/tokens.py)."""

from __future__ import annotations

from crosscheck.model.results import CIAccount
from crosscheck.results.tokens import Verified, VerifiedTokens, token_hash


def _verified(token: str, *, enabled: bool = True) -> Verified:
    return Verified(token_hash(token), 7, CIAccount("Acme CI", enabled=enabled), '["*"]')


def test_remembered_until_it_expires() -> None:
    now = [100.0]
    tokens = VerifiedTokens(ttl=60, clock=lambda: now[0])
    tokens.put(_verified("a"))
    now[0] = 159.9
    assert tokens.get(token_hash("a")) == _verified("a")
    now[0] = 160.0
    assert tokens.get(token_hash("a")) is None


def test_a_disabled_account_is_never_remembered() -> None:
    tokens = VerifiedTokens()
    tokens.put(_verified("a", enabled=False))
    assert tokens.get(token_hash("a")) is None


def test_forgotten_one_by_one_or_all_and_bounded() -> None:
    tokens = VerifiedTokens(size=2)
    tokens.put(_verified("a"))
    tokens.put(_verified("b"))
    tokens.forget(token_hash("a"))
    assert (tokens.get(token_hash("a")), tokens.get(token_hash("b"))) == (None, _verified("b"))
    tokens.put(_verified("c"))
    tokens.put(_verified("d"))  # full: the others go, the newest stays
    assert [tokens.get(token_hash(t)) is not None for t in "bcd"] == [False, False, True]
    tokens.clear()
    assert tokens.get(token_hash("d")) is None
