"""Where candidates come from: merges on a component's branch, and an operator's pins."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.base import DriverError, DriverNotFoundError
from crosscheck.model.candidate import Candidate, CandidateOrigin
from crosscheck.model.event_types import EventType
from crosscheck.model.events import Change, Event, RefUpdate
from crosscheck.model.promotion import JobCriterion, Level
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.promotion.candidates import CandidateMaker, Move, moves_of
from crosscheck.promotion.versions import VersionsError, pins_by_component, resolve_versions
from crosscheck.store import promotion as store

ZERO = "0" * 40
NOVA_TIP, APEX_TIP, APEX_TAG, VPP = "1" * 40, "2" * 40, "3" * 40, "4" * 40
LEVELS = (Level("verified", None, (JobCriterion(("unit",)),), ("ci",)),)
SCENARIO = Scenario(
    "os-nosdn",
    components=(
        Component("nova", RefKind.BRANCH, "master", connection="openstack",
                  project="openstack/nova"),
        Component("apex", RefKind.TAG, "9.1.0", connection="opnfv", project="opnfv/apex"),
        Component("vpp", RefKind.SHA, VPP, git_url="https://git.fd.io/vpp"),
    ),
    levels=LEVELS,
)  # fmt: skip
SCENARIOS = {SCENARIO.name: SCENARIO}


class FakeRefs:
    """A RefSource over a dict (project, kind, ref) -> commit; counts its calls."""

    def __init__(
        self,
        refs: Mapping[tuple[str, str, str], str],
        down: bool = False,
        commits: set[str] | None = None,
    ) -> None:
        self.refs = dict(refs)
        self.down = down
        #: The commits the server knows; None: it cannot say (a plain git remote).
        self.commits = commits
        self.calls: list[tuple[str, str, str]] = []

    async def has_commit(self, project: str, sha: str) -> bool | None:
        if self.down:
            raise DriverError("Gerrit did not answer")
        if self.commits is None:
            return None
        return sha in self.commits or sha in self.refs.values()

    async def commit_of(self, project: str, kind: str, ref: str) -> str:
        self.calls.append((project, kind, ref))
        if self.down:
            raise DriverError("Gerrit did not answer")
        try:
            return self.refs[(project, kind, ref)]
        except KeyError:
            raise DriverNotFoundError(f"no {kind} {ref}") from None


def sources() -> dict[str, FakeRefs]:
    return {
        "openstack": FakeRefs({("openstack/nova", "branch", "master"): NOVA_TIP,
                               ("openstack/nova", "tag", "29.0.0"): "5" * 40},
                              commits={"7" * 40, "8" * 40, "9" * 40}),
        "opnfv": FakeRefs({("opnfv/apex", "tag", "9.1.0"): APEX_TAG,
                           ("opnfv/apex", "branch", "master"): APEX_TIP}),
    }  # fmt: skip


def ref_updated(project: str, ref: str, new: str, connection: str = "openstack") -> Event:
    update = RefUpdate(project, ref, "a" * 40, new)
    return Event(EventType.REF_UPDATED, connection, 1, project=project, ref_update=update)


def merged(project: str, branch: str, new: str, connection: str = "openstack") -> Event:
    change = Change(project, branch, 7, status="MERGED")
    return Event(
        EventType.CHANGE_MERGED, connection, 1, project=project, change=change,
        extra={"newRev": new},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("event", "moved"),
    [
        (ref_updated("openstack/nova", "refs/heads/master", "9" * 40), ["nova"]),
        (ref_updated("openstack/nova", "master", "9" * 40), ["nova"]),  # Gerrit 2.x's short ref
        (merged("openstack/nova", "master", "9" * 40), ["nova"]),
        (ref_updated("openstack/nova", "refs/heads/stable/x", "9" * 40), []),  # another branch
        (ref_updated("openstack/nova", "refs/tags/master", "9" * 40), []),  # a tag named so
        (ref_updated("openstack/nova", "refs/heads/master", ZERO), []),  # the branch deleted
        (ref_updated("openstack/nova", "refs/heads/master", "9" * 40, "opnfv"), []),  # other server
        (ref_updated("opnfv/apex", "refs/heads/master", "9" * 40, "opnfv"), []),  # pinned at a tag
        (merged("openstack/nova", "master", "not-a-sha"), []),
    ],
)
def test_which_events_move_which_components(event: Event, moved: list[str]) -> None:
    assert [m.component for m in moves_of(event, SCENARIOS)] == moved


async def test_versions_follow_each_components_ref_and_the_pins() -> None:
    found = await resolve_versions(SCENARIO, sources(), FakeRefs({}))
    assert found == {"nova": NOVA_TIP, "apex": APEX_TAG, "vpp": VPP}
    pinned = await resolve_versions(
        SCENARIO, sources(), FakeRefs({("https://git.fd.io/vpp", "tag", "v24"): "6" * 40}),
        {"openstack/nova": "29.0.0", "apex": "master", "vpp": "v24"},
    )  # fmt: skip
    assert pinned == {"nova": "5" * 40, "apex": APEX_TIP, "vpp": "6" * 40}
    assert (await resolve_versions(SCENARIO, sources(), FakeRefs({}), {"nova": "7" * 40}))[
        "nova"
    ] == "7" * 40


@pytest.mark.parametrize(
    ("pins", "words"),
    [
        ({"neutron": "master"}, "no component 'neutron' (components: nova, apex, vpp)"),
        ({"nova": "0" * 40}, f"component nova (openstack:openstack/nova) has no commit {'0' * 40}"),
        ({"nova": "nope"}, "component nova (openstack:openstack/nova) has no branch or tag 'nope'"),
    ],
)
async def test_a_pin_that_names_nothing_says_so(pins: dict[str, str], words: str) -> None:
    with pytest.raises(VersionsError, match=words.replace("(", r"\(").replace(")", r"\)")):
        await resolve_versions(SCENARIO, sources(), FakeRefs({}), pins)


async def test_a_server_away_is_said_with_the_component() -> None:
    away = sources() | {"openstack": FakeRefs({}, down=True)}
    with pytest.raises(VersionsError, match=r"component nova .*Gerrit did not answer"):
        await resolve_versions(SCENARIO, away, FakeRefs({}))
    with pytest.raises(VersionsError, match="connection 'openstack', which serve does not"):
        await resolve_versions(SCENARIO, {}, FakeRefs({}))


def test_pins_may_name_a_component_or_its_project() -> None:
    assert pins_by_component(SCENARIO, {"openstack/nova": "x", "apex": "y"}) == {
        "nova": "x",
        "apex": "y",
    }


async def accept_in(engine: AsyncEngine, maker: CandidateMaker, event: Event) -> list[Event]:
    seen: list[Event] = []

    async def sink(event: Event, db: AsyncConnection) -> None:
        seen.append(event)

    async with engine.begin() as db:
        await maker.making_candidates(sink)(event, db)
    await maker.settled()
    return seen


async def test_a_merge_makes_the_first_candidate_then_moves_it(engine: AsyncEngine) -> None:
    maker = CandidateMaker(engine, lambda: SCENARIOS, sources(), FakeRefs({}))
    first_merge = ref_updated("openstack/nova", "refs/heads/master", "8" * 40)
    assert await accept_in(engine, maker, first_merge) == [first_merge]  # the sink still gets it
    async with engine.connect() as db:
        [first] = await store.newest_candidates(db, SCENARIO.name)
    # The merged commit, not the tip the server names (it may have moved on since).
    assert dict(first.candidate.versions) == {"nova": "8" * 40, "apex": APEX_TAG, "vpp": VPP}
    assert first.origin == CandidateOrigin.MERGE
    await accept_in(engine, maker, merged("openstack/nova", "master", "9" * 40))
    await accept_in(engine, maker, ref_updated("openstack/nova", "refs/heads/master", "9" * 40))
    async with engine.connect() as db:
        newest = await store.newest_candidates(db, SCENARIO.name)
    assert [dict(c.candidate.versions)["nova"] for c in newest] == ["9" * 40, "8" * 40]
    assert newest[0].candidate == first.candidate.moved("nova", "9" * 40)


async def test_a_first_candidate_that_cannot_be_made_is_logged_not_raised(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    away = sources() | {"opnfv": FakeRefs({}, down=True)}
    maker = CandidateMaker(engine, lambda: SCENARIOS, away, FakeRefs({}))
    await accept_in(engine, maker, ref_updated("openstack/nova", "refs/heads/master", "8" * 40))
    async with engine.connect() as db:
        assert await store.newest_candidates(db, SCENARIO.name) == []
    assert "no first candidate of os-nosdn after the merge on nova" in caplog.text


async def test_create_records_once_and_names_an_unknown_scenario(engine: AsyncEngine) -> None:
    maker = CandidateMaker(engine, lambda: SCENARIOS, sources(), FakeRefs({}))
    record, new = await maker.create("os-nosdn", {"nova": "29.0.0"})
    again, new_again = await maker.create("os-nosdn", {"nova": "29.0.0"})
    assert (new, new_again, again.id) == (True, False, record.id)
    assert record.candidate == Candidate(
        "os-nosdn", {"nova": "5" * 40, "apex": APEX_TAG, "vpp": VPP}
    )
    assert record.origin == "operator"
    with pytest.raises(VersionsError, match="no scenario 'os-odl' \\(scenarios: os-nosdn\\)"):
        await maker.create("os-odl", {})


def test_a_move_names_its_scenario() -> None:
    [move] = moves_of(merged("openstack/nova", "master", "9" * 40), SCENARIOS)
    assert move == Move("os-nosdn", "nova", "9" * 40)


async def test_an_operators_pinned_candidate_is_never_a_merges_base(engine: AsyncEngine) -> None:
    maker = CandidateMaker(engine, lambda: SCENARIOS, sources(), FakeRefs({}))
    await accept_in(engine, maker, ref_updated("openstack/nova", "refs/heads/master", "8" * 40))
    pinned, _ = await maker.create("os-nosdn", {"apex": "7" * 40})  # an experiment
    await accept_in(engine, maker, ref_updated("openstack/nova", "refs/heads/master", "9" * 40))
    async with engine.connect() as db:
        newest = await store.newest_candidates(db, SCENARIO.name, 1)
    assert newest[0].id != pinned.id
    # The merge moved the branches' line: apex at its tag, not at the operator's pin.
    assert dict(newest[0].candidate.versions) == {"nova": "9" * 40, "apex": APEX_TAG, "vpp": VPP}


async def test_a_component_added_since_the_newest_candidate_joins_the_next_one(
    engine: AsyncEngine,
) -> None:
    maker = CandidateMaker(engine, lambda: SCENARIOS, sources(), FakeRefs({}))
    await accept_in(engine, maker, ref_updated("openstack/nova", "refs/heads/master", "8" * 40))
    added = Component("fdio", RefKind.BRANCH, "master", connection="opnfv", project="opnfv/apex")
    grown = dataclasses.replace(SCENARIO, components=(*SCENARIO.components, added))
    maker.scenarios = lambda: {grown.name: grown}
    # A merge on the new component: the newest candidate has no version of it to move.
    await accept_in(
        engine, maker, ref_updated("opnfv/apex", "refs/heads/master", "9" * 40, "opnfv")
    )
    async with engine.connect() as db:
        newest = await store.newest_candidates(db, SCENARIO.name)
    assert dict(newest[0].candidate.versions) == {
        "nova": NOVA_TIP, "apex": APEX_TAG, "vpp": VPP, "fdio": "9" * 40,
    }  # fmt: skip
