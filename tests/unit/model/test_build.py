"""Builds in the model: request checks, durations as reports write them, log layout."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from crosscheck.executor.layout import component, log_path, log_url, served_log_url
from crosscheck.model.build import (
    BuildOutcome,
    BuildRequest,
    BuildResult,
    change_ref,
    format_duration,
)
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Change, Event, PatchSet, RefUpdate
from crosscheck.model.job import Job

CONNECTION = GerritConnection("gerrit", "review.example.org", "ci", "https://review.example.org/")


def request(
    build_id: str = "b1", job: str = "acme/unit", event: Event | None = None
) -> BuildRequest:
    change = Change("openstack/cinder", "master", 12345)
    default = Event("patchset-created", "gerrit", 0, change=change, patchset=PatchSet(2, "a" * 40))
    return BuildRequest(build_id, 1, "check", Job(name=job), event or default, CONNECTION)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (5.4, "5s"), (59.6, "1m 00s"), (182, "3m 02s"), (3723, "1h 02m 03s"), (-3, "0s")],
)
def test_durations_as_third_party_reports_write_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_change_refs() -> None:
    assert change_ref(12345, 2) == "refs/changes/45/12345/2"
    assert change_ref(7, 1) == "refs/changes/07/7/1"


@pytest.mark.parametrize("build_id", ["", "../x", "a/b", "a b", "x" * 101])
def test_build_ids_must_be_plain(build_id: str) -> None:
    with pytest.raises(ValueError, match="build id"):
        request(build_id)


def test_an_event_without_a_project_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="names no project"):
        request(event=Event("ref-updated", "gerrit", 0))


def test_outcome_duration_and_retryable_results() -> None:
    outcome = BuildOutcome("b1", BuildResult.SUCCESS, 100.0, 282.5, "x/")
    assert outcome.duration == 182.5
    assert {r for r in BuildResult if r.retryable} == {BuildResult.NODE_FAILURE, BuildResult.ERROR}


def test_the_log_path_of_a_patchset_build_and_its_url() -> None:
    path = log_path(request(job="opnfv/deploy"))
    assert path == PurePosixPath("45/12345/2/check/opnfv%2Fdeploy/b1")
    assert log_url(path) == "45/12345/2/check/opnfv%252Fdeploy/b1/"


def test_the_log_path_of_a_ref_build() -> None:
    update = RefUpdate("openstack/cinder", "refs/heads/stable/2026", "0" * 40, "b" * 40)
    event = Event("ref-updated", "gerrit", 0, project="openstack/cinder", ref_update=update)
    assert log_path(request(event=event)) == PurePosixPath(
        "refs/openstack/cinder/stable%2F2026/bbbbbbbbbbbb/check/acme%2Funit/b1"
    )


@pytest.mark.parametrize(("name", "expected"), [("..", "%2E%2E"), (".", "%2E"), ("", "_")])
def test_no_name_becomes_a_special_path_component(name: str, expected: str) -> None:
    assert component(name) == expected


def test_a_log_url_is_served_under_the_logs_address_when_both_are_known() -> None:
    logs = "https://ci.example.org/logs"
    assert served_log_url(logs, "45/12345/2/check/unit/b1/") == f"{logs}/45/12345/2/check/unit/b1/"
    assert served_log_url("", "45/12345/2/check/unit/b1/") == "45/12345/2/check/unit/b1/"
    assert served_log_url(logs, None) is None
    assert served_log_url(logs, "") == ""
