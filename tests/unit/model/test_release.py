"""Release names, their tags and manifests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosscheck.model.candidate import Candidate, CandidateRecord
from crosscheck.model.promotion import JobCriterion, Level
from crosscheck.model.release import Release, default_name, name_problem, pins_of, tag_name
from crosscheck.model.scenario import Component, RefKind, Scenario

DAY = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def test_a_default_name_is_the_day_then_numbered() -> None:
    assert default_name(DAY, []) == "2026.12.05"
    assert default_name(DAY, ["2026.12.05"]) == "2026.12.05.2"
    assert default_name(DAY, ["2026.12.05", "2026.12.05.2", "2026.12.04"]) == "2026.12.05.3"


@pytest.mark.parametrize("name", ["2026.12.1", "v1", "r_1-rc2"])
def test_good_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["", "-x", ".x", "a..b", "a.lock", "a/b", "a b", "é", "x" * 101])
def test_names_git_or_gerrit_would_refuse_are_refused(name: str) -> None:
    problem = name_problem(name)
    assert problem is not None
    assert "cannot name a release" in problem


def test_the_manifest_pins_every_component_and_tags_only_gerrit_ones() -> None:
    scenario = Scenario(
        "os-nosdn",
        components=(
            Component("nova", RefKind.BRANCH, "master", connection="os", project="openstack/nova"),
            Component("vpp", RefKind.SHA, "b" * 40, git_url="https://git.fd.io/vpp"),
        ),
        levels=(Level("verified", None, (JobCriterion(("unit",)),), ("ci",)),),
    )
    record = CandidateRecord(
        Candidate("os-nosdn", {"nova": "a" * 40, "vpp": "b" * 40}), "merge", DAY
    )
    tag = tag_name("os-nosdn", "stable", "s1")
    made = Release("os-nosdn", "stable", "s1", "release", record.id, DAY, "rm",
                   tuple(pins_of(scenario, record, tag)))  # fmt: skip
    manifest = made.manifest()
    assert manifest["components"] == [
        {"name": "nova", "connection": "os", "project": "openstack/nova", "sha": "a" * 40,
         "tag": "refs/tags/os-nosdn/stable/s1"},
        {"name": "vpp", "git": "https://git.fd.io/vpp", "sha": "b" * 40},
    ]  # fmt: skip
    assert (manifest["candidate"], manifest["qualified_at_level"]) == (record.id, "release")
