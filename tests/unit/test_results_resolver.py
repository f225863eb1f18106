"""GerritResolver against the fake Gerrit (tests/fakes/gerrit.py; the e2e test uses a real one)."""

from __future__ import annotations

import pytest

from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.results.errors import UnknownChangeError
from crosscheck.results.resolver import (
    FallbackResolver,
    GerritResolver,
    PatchsetRef,
    split_change_id,
)
from tests.fakes.gerrit import Change, FakeGerrit, Revision

SHA1 = "1" * 40
SHA2 = "ab" * 20


def fake_gerrit() -> FakeGerrit:
    """Change 1234 of openstack/nova at patchset 2."""
    return FakeGerrit([Change(1234, "openstack/nova", [Revision(1, SHA1), Revision(2, SHA2)])])


def anonymous(gerrit: FakeGerrit) -> GerritRestClient:
    return gerrit.rest("http://gerrit", account=None)


@pytest.mark.parametrize(
    ("revision", "patchset", "sha"),
    [("1", 1, SHA1), ("current", 2, SHA2), (SHA1, 1, SHA1), ("abababa", 2, SHA2)],
)
async def test_revisions_are_found(revision: str, patchset: int, sha: str) -> None:
    gerrit = fake_gerrit()
    seen = gerrit.requests
    resolver = GerritResolver(anonymous(gerrit))
    found = await resolver.resolve("openstack/nova~1234", revision)
    assert found == PatchsetRef("openstack/nova", 1234, patchset, sha, "master")
    assert seen[0].url.raw_path == b"/changes/openstack%2Fnova~1234?o=ALL_REVISIONS"


async def test_unknown_changes_and_revisions_are_clear() -> None:
    resolver = GerritResolver(anonymous(fake_gerrit()))
    with pytest.raises(UnknownChangeError, match="Gerrit has no change '99'"):
        await resolver.resolve("99", "1")
    with pytest.raises(UnknownChangeError, match="has no revision '7'"):
        await resolver.resolve("1234", "7")


def test_change_ids() -> None:
    assert split_change_id("123") == (None, 123)
    assert split_change_id("openstack/nova~123") == ("openstack/nova", 123)
    assert split_change_id("p~master~I0123") == (None, None)
    assert split_change_id("I0123abc") == (None, None)


class _Known:
    """A resolver that knows one change, and counts the questions it is asked."""

    def __init__(self, number: int, advice: str) -> None:
        self.number = number
        self.advice = advice
        self.asked = 0

    async def resolve(self, change_id: str, revision: str) -> PatchsetRef:
        self.asked += 1
        if change_id != str(self.number):
            raise UnknownChangeError(self.advice)
        return PatchsetRef("openstack/nova", self.number, int(revision))


async def test_the_fallback_asks_gerrit_only_what_the_store_does_not_know() -> None:
    store, gerrit = _Known(1, "change 2 has no results yet"), _Known(2, "Gerrit has no change")
    resolver = FallbackResolver(store, gerrit)
    assert await resolver.resolve("1", "3") == PatchsetRef("openstack/nova", 1, 3)
    assert gerrit.asked == 0
    assert await resolver.resolve("2", "1") == PatchsetRef("openstack/nova", 2, 1)
    assert gerrit.asked == 1
    with pytest.raises(UnknownChangeError) as unknown:
        await resolver.resolve("3", "1")
    assert str(unknown.value) == "Gerrit has no change"  # it knows: the store's advice is moot


async def test_when_gerrit_cannot_be_asked_the_stores_advice_comes_too() -> None:
    gerrit = fake_gerrit()
    gerrit.fail("*", 500, "Internal server error")
    rest = anonymous(gerrit)
    store = _Known(1, "change 3 has no results yet: address it as PROJECT~3")
    with pytest.raises(UnknownChangeError) as unknown:
        await FallbackResolver(store, GerritResolver(rest)).resolve("3", "1")
    assert str(unknown.value).startswith(
        "change 3 has no results yet: address it as PROJECT~3; and cannot look up change '3'"
    )
