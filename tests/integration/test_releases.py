"""Cutting releases on SQLite and PostgreSQL, with a tagger standing in for Gerrit (the
real Gerrit's tags: tests/e2e/test_promotion.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.drivers.base import DriverError
from crosscheck.model.candidate import Candidate
from crosscheck.model.promotion import JobCriterion, Level
from crosscheck.model.scenario import Component, RefKind, ReleaseChannel, Scenario
from crosscheck.promotion.releases import ReleaseRefusedError, ReleaseRequest, create_release
from crosscheck.store import promotion as store
from crosscheck.store import releases as release_store

SCENARIO = Scenario(
    "os-nosdn",
    components=(
        Component("nova", RefKind.BRANCH, "master", connection="os", project="openstack/nova"),
        Component("vpp", RefKind.SHA, "b" * 40, git_url="https://git.fd.io/vpp"),
    ),
    levels=(
        Level("verified", None, (JobCriterion(("unit",)),), ("ci",)),
        Level("daily", "verified", (JobCriterion(("deploy",)),), ("ci",)),
    ),
    channels=(ReleaseChannel("developer", "verified"), ReleaseChannel("stable", "daily")),
)


class FakeTagger:
    def __init__(self, fail_on: str | None = None) -> None:
        self.tags: dict[tuple[str, str], str] = {}
        self.fail_on = fail_on

    async def create_tag(self, project: str, name: str, sha: str, message: str) -> None:
        if project == self.fail_on:
            raise DriverError("Gerrit answered 403: not permitted: create tag")
        existing = self.tags.setdefault((project, name), sha)
        if existing != sha:
            raise DriverError(f"{project} has a tag {name} already")


@pytest.fixture
def engine(store: AsyncEngine) -> AsyncEngine:
    return store


async def candidate_at(engine: AsyncEngine, n: int, *levels: str) -> str:
    candidate = Candidate("os-nosdn", {"nova": f"{n:040x}", "vpp": "b" * 40})
    async with engine.begin() as db:
        now = datetime.now(UTC)
        await store.record_candidate(db, candidate, "merge", now)
        for level in levels:
            await store.promote(db, "os-nosdn", level, candidate.id, by="criteria",
                                evidence={}, at=now)  # fmt: skip
    return candidate.id


def request(channel: str, **more: str) -> ReleaseRequest:
    return ReleaseRequest(SCENARIO, channel, by="rm", **more)


async def test_the_newest_qualifying_candidate_is_tagged_and_recorded(engine: AsyncEngine) -> None:
    await candidate_at(engine, 1, "verified")
    newer = await candidate_at(engine, 2, "verified")
    tagger = FakeTagger()
    made = await create_release(engine, request("developer", name="d1"), {"os": tagger})
    assert made.candidate == newer
    assert tagger.tags == {("openstack/nova", "os-nosdn/developer/d1"): f"{2:040x}"}
    assert [(p.component, p.tag) for p in made.components] == [
        ("nova", "refs/tags/os-nosdn/developer/d1"),
        ("vpp", None),  # not on Gerrit: not ours to tag
    ]
    async with engine.connect() as db:
        assert await release_store.release_named(db, "os-nosdn", "d1") == made


async def test_nothing_qualifies_is_refused_with_the_explanation(engine: AsyncEngine) -> None:
    await candidate_at(engine, 1, "verified")
    with pytest.raises(ReleaseRefusedError, match="os-nosdn daily holds no candidate") as refused:
        await create_release(engine, request("stable"), {"os": FakeTagger()})
    explanation = refused.value.explanation
    assert explanation is not None
    assert explanation.verdict is not None
    assert {c.criterion: c.state.value for c in explanation.verdict.criteria} == {
        "reached verified": "passed",
        "job deploy": "missing",
    }
    with pytest.raises(ReleaseRefusedError, match="no release channel 'nightly'"):
        await create_release(engine, request("nightly"), {"os": FakeTagger()})


async def test_a_release_failed_half_way_is_finished_by_asking_again(engine: AsyncEngine) -> None:
    await candidate_at(engine, 1, "verified")
    broken = FakeTagger(fail_on="openstack/nova")
    with pytest.raises(ReleaseRefusedError, match=r"tagging openstack/nova failed: .*403"):
        await create_release(engine, request("developer", name="d1"), {"os": broken})
    async with engine.connect() as db:
        assert await release_store.scenario_releases(db, "os-nosdn") == []
    tagger = FakeTagger()
    await create_release(engine, request("developer", name="d1"), {"os": tagger})
    await create_release(engine, request("developer", name="d2"), {"os": tagger})
    with pytest.raises(ReleaseRefusedError, match="has a release d1 already"):
        await create_release(engine, request("developer", name="d1"), {"os": tagger})
    with pytest.raises(ReleaseRefusedError, match="cannot name a release"):
        await create_release(engine, request("developer", name="../x"), {"os": tagger})


async def test_a_named_candidate_must_have_reached_the_level_and_stayed(
    engine: AsyncEngine,
) -> None:
    only_verified = await candidate_at(engine, 1, "verified")
    with pytest.raises(ReleaseRefusedError, match="never reached daily"):
        await create_release(engine, request("stable", candidate=only_verified), {})
    daily = await candidate_at(engine, 2, "verified", "daily")
    async with engine.begin() as db:
        await store.demote(db, "os-nosdn", "daily", only_verified, by="rm", reason="broken",
                           at=datetime.now(UTC))  # fmt: skip
    with pytest.raises(ReleaseRefusedError, match=r"moved off daily by rm .*demote: broken"):
        await create_release(engine, request("stable", candidate=daily[:8]), {})
