"""The report's decision (outcome, headline, reporters) and its job lines with reasons."""

from __future__ import annotations

import pytest

from crosscheck.model.events import CandidateComponent
from crosscheck.model.item_context import ScenarioVersions
from crosscheck.model.pipeline import Manager, Notify, Pipeline, ReportAction
from crosscheck.model.report import JobLine
from crosscheck.results.backfill_messages import parse_ci_message
from crosscheck.scheduler.message import (
    MAX_DETAIL,
    Applied,
    Outcome,
    decide,
    item_message,
    item_outcome,
    job_line,
    reporters,
    scenario_line,
)


def line(job: str, result: str, voting: bool = True, detail: str = "") -> JobLine:
    return JobLine(job, result, f"http://ci/logs/{job}/", 3.0, voting, detail)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([("SUCCESS", True), ("FAILURE", False)], Outcome.SUCCESS),
        ([("SUCCESS", True), ("FAILURE", True)], Outcome.FAILURE),
        ([("TIMED_OUT", True)], Outcome.FAILURE),
        # A real failure outweighs an infrastructure error: the change did fail.
        ([("FAILURE", True), ("ERROR", True)], Outcome.FAILURE),
        ([("ERROR", True), ("SUCCESS", True)], Outcome.ERROR),
        ([("NODE_FAILURE", True)], Outcome.ERROR),
        ([("ERROR", False), ("SUCCESS", True)], Outcome.SUCCESS),
        ([("MERGE_CONFLICT", True), ("ERROR", True)], Outcome.MERGE_CONFLICT),
        ([("MERGE_CONFLICT", True), ("FAILURE", True)], Outcome.FAILURE),
        ([("MERGE_CONFLICT", False), ("SUCCESS", True)], Outcome.SUCCESS),
        ([], Outcome.SUCCESS),
    ],
)
def test_the_outcome_counts_voting_jobs_and_real_failures_first(
    results: list[tuple[str, bool]], expected: Outcome
) -> None:
    lines = [line(f"job{i}", result, voting) for i, (result, voting) in enumerate(results)]
    assert item_outcome(lines) is expected


def test_each_outcome_has_its_headline() -> None:
    def headline(*lines: JobLine) -> str:
        return decide("check", lines, patchset=3, branch="master").headline

    assert headline(line("a", "SUCCESS")) == "Build succeeded (check pipeline)."
    assert headline(line("a", "FAILURE")) == "Build failed (check pipeline)."
    assert headline(line("a", "MERGE_CONFLICT")) == (
        "Merge failed (check pipeline): patchset 3 does not merge onto master."
    )
    assert headline(line("a", "ERROR")) == (
        "Build could not run (check pipeline): infrastructure error, no vote cast."
    )


def test_a_merge_conflict_names_the_files_and_says_to_rebase() -> None:
    lines = [line("unit", "MERGE_CONFLICT", detail="conflict in a.txt, b/c.py")]
    verdict = decide("check", lines, patchset=2, branch="stable/1")
    message = item_message(verdict, lines, None)
    assert message.splitlines() == [
        "Merge failed (check pipeline): patchset 2 does not merge onto stable/1.",
        "",
        "- unit http://ci/logs/unit/ : MERGE_CONFLICT in 3s — conflict in a.txt, b/c.py",
        "",
        "To test it, rebase the change onto the tip of stable/1 and push it again.",
    ]


def test_an_infrastructure_error_says_why_and_that_it_is_no_verdict() -> None:
    lines = [
        line(
            "unit",
            "ERROR",
            detail="git fetch of refs/changes/01/1/1 from http://g/a/p: connection refused",
        ),
        line("lint", "SUCCESS"),
    ]
    message = item_message(decide("check", lines, patchset=1, branch="main"), lines, "http://i")
    first, _, unit, lint, *rest = message.splitlines()
    assert first.startswith("Build could not run (check pipeline)")
    assert unit == (
        "- unit http://ci/logs/unit/ : ERROR in 3s — git fetch of refs/changes/01/1/1 "
        "from http://g/a/p: connection refused"
    )
    assert lint == "- lint http://ci/logs/lint/ : SUCCESS in 3s"
    assert "no verdict" in rest[1]
    assert rest[-1] == "For more about this CI: http://i"


def test_a_reason_stays_on_one_short_line_and_success_has_none() -> None:
    long = line("unit", "FAILURE", False, "step 1 'x' exited 1\n" + "y" * 500)
    text = job_line(long)
    assert "\n" not in text
    reason = text.split(" — ", 1)[1]
    assert len(reason) == MAX_DETAIL
    assert reason.startswith("step 1 'x' exited 1 yyy")
    assert reason.endswith("…")
    assert text.startswith("- unit http://ci/logs/unit/ : FAILURE in 3s (non-voting) — ")
    assert job_line(line("ok", "SUCCESS", detail="ignored")) == (
        "- ok http://ci/logs/ok/ : SUCCESS in 3s"
    )
    assert job_line(line("bad", "FAILURE")) == "- bad http://ci/logs/bad/ : FAILURE in 3s"


def test_crosscheck_reads_its_own_lines_back_with_their_reasons() -> None:
    lines = [
        line("unit", "FAILURE", False, "step 2 'test ! -e FAIL' exited 1"),
        line("lab", "SUCCESS"),
    ]
    message = item_message(decide("check", lines, patchset=1, branch="m"), lines, None)
    parsed = parse_ci_message(message)
    assert parsed.pipeline == "check"
    assert parsed.unreadable == []
    unit, lab = parsed.jobs
    assert (unit.job, unit.url, unit.duration, unit.voting) == (
        "unit",
        "http://ci/logs/unit/",
        3.0,
        False,
    )
    assert unit.detail == "step 2 'test ! -e FAIL' exited 1"
    assert (lab.job, lab.duration, lab.voting, lab.detail) == ("lab", 3.0, True, None)


def test_each_outcome_goes_to_its_reporters() -> None:
    vote = ReportAction("gerrit", {"Verified": 1})
    veto = ReportAction("gerrit", {"Verified": -1})
    conflict = ReportAction("gerrit", {"Verified": -1}, notify=Notify.ALL)
    quiet = ReportAction("gerrit")
    pipeline = Pipeline(
        "check",
        Manager.INDEPENDENT,
        (),
        success=(vote,),
        failure=(veto,),
        merge_conflict=(conflict,),
        error=(quiet,),
    )
    assert reporters(pipeline, Outcome.SUCCESS) == (vote,)
    assert reporters(pipeline, Outcome.FAILURE) == (veto,)
    assert reporters(pipeline, Outcome.MERGE_CONFLICT) == (conflict,)
    assert reporters(pipeline, Outcome.ERROR) == (quiet,)


def test_a_scenario_line_names_the_candidate_each_version_and_the_changes_merged() -> None:
    versions = ScenarioVersions(
        "os-odl",
        "daily",
        "c" * 64,
        (
            CandidateComponent("nova", "1" * 40, "upstream", "openstack/nova"),
            CandidateComponent("odl", "2" * 40, git_url="https://git.example/odl"),
        ),
    )
    applied = [
        Applied("integrating", "opnfv/releng", "integrating:45,2"),
        Applied("upstream", "openstack/nova", "upstream:12,3"),
    ]
    assert scenario_line(versions, applied) == (
        f"Scenario os-odl, candidate {'c' * 12} at daily: nova {'1' * 12} +upstream:12,3; "
        f"odl {'2' * 12}; opnfv/releng +integrating:45,2"
    )
    newest = ScenarioVersions("os-odl", None, "d" * 64, versions.components[:1])
    assert scenario_line(newest).startswith(f"Scenario os-odl, candidate {'d' * 12} the newest:")


def test_a_conflict_onto_a_scenarios_versions_does_not_tell_to_rebase_onto_the_tip() -> None:
    lines = [JobLine("deploy", "MERGE_CONFLICT", "", 1.0, True, "upstream:12,3 does not merge")]
    verdict = decide("check", lines, patchset=3, branch="master", in_scenario=True)
    assert verdict.outcome is Outcome.MERGE_CONFLICT
    assert verdict.headline == (
        "Merge failed (check pipeline): patchset 3 does not apply onto the versions of its "
        "scenario."
    )
    assert "helps only when the conflict is with its tip" in verdict.hint


def test_a_conflict_with_dependencies_does_not_blame_the_patchset_alone() -> None:
    lines = [JobLine("deploy", "MERGE_CONFLICT", "", 1.0, True, "opnfv:415,1 does not merge")]
    verdict = decide("check", lines, patchset=1, branch="master", depends=True)
    assert verdict.headline == (
        "Merge failed (check pipeline): patchset 1 or a change it depends on does not merge "
        "onto master."
    )
