"""The decision rules of promotion, and candidates' content hashes."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosscheck.model.candidate import Candidate, CandidateOrigin, CandidateRecord
from crosscheck.model.promotion import (
    ApprovalRule,
    CandidateResult,
    CriterionState,
    Evidence,
    JobCriterion,
    Level,
    ManualApproval,
    Verdict,
    decide,
)
from crosscheck.model.results import ResultValue
from crosscheck.model.scenario import Component, RefKind, ReleaseChannel, Scenario

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
A, B, C = "a" * 40, "b" * 40, "c" * 40
CANDIDATE = Candidate("os-nosdn", {"nova": A, "apex": B})
PASSED, FAILED = ResultValue.PASSED, ResultValue.FAILED

VERIFIED = Level(
    name="verified",
    below=None,
    jobs=(JobCriterion(("unit",)), JobCriterion(("tempest-full", "tempest-smoke"))),
    accounts=("crosscheck", "other-ci"),
)
DAILY = Level(
    name="daily",
    below="verified",
    jobs=(JobCriterion(("deploy",)),),
    accounts=("crosscheck",),
    soak=timedelta(hours=1),
    max_age=timedelta(days=2),
    approvals=ApprovalRule(("rm1", "rm2", "rm3"), count=2),
)


def result(
    id: int, job: str, value: ResultValue, *, account: str = "crosscheck", ago: int = 60
) -> CandidateResult:
    return CandidateResult(id, job, account, value, NOW - timedelta(minutes=ago))


def states(verdict: Verdict) -> dict[str, tuple[CriterionState, tuple[int, ...]]]:
    return {c.criterion: (c.state, c.result_ids) for c in verdict.criteria}


def verified(*results: CandidateResult) -> Verdict:
    return decide(VERIFIED, CANDIDATE, Evidence(results), None, NOW)


# --- candidates ---------------------------------------------------------------


def test_a_candidate_is_named_by_a_documented_sha256_of_its_versions() -> None:
    text = f"crosscheck-candidate-v1\nscenario\tos-nosdn\napex\t{B}\nnova\t{A}\n"
    assert CANDIDATE.id == hashlib.sha256(text.encode()).hexdigest()


def test_moved_gives_the_next_candidate_with_one_component_moved() -> None:
    moved = CANDIDATE.moved("nova", C)
    assert moved.versions == {"apex": B, "nova": C}
    assert CANDIDATE.versions == {"apex": B, "nova": A}  # the old one never changes
    assert moved.id != CANDIDATE.id
    assert moved.moved("nova", A) == CANDIDATE
    with pytest.raises(KeyError):
        CANDIDATE.moved("neutron", C)


@pytest.mark.parametrize(
    "versions", [{}, {"nova": "abc"}, {"nova": A.upper()}, {"no\tva": A}], ids=repr
)
def test_a_candidate_refuses_what_is_not_a_set_of_full_commit_ids(
    versions: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match=r"candidate|commit"):
        Candidate("os-nosdn", versions)


def test_the_scenario_is_part_of_the_identity() -> None:
    assert Candidate("other", dict(CANDIDATE.versions)).id != CANDIDATE.id


SHAS = st.text("0123456789abcdef", min_size=40, max_size=40)
VERSIONS = st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), SHAS, min_size=1)


@given(VERSIONS, st.randoms(use_true_random=False))
def test_the_hash_does_not_depend_on_the_order_versions_come_in(
    versions: dict[str, str], rng: random.Random
) -> None:
    items = list(versions.items())
    rng.shuffle(items)
    assert Candidate("s", dict(items)).id == Candidate("s", versions).id


@given(VERSIONS, st.data())
def test_the_hash_changes_when_any_version_changes(
    versions: dict[str, str], data: st.DataObject
) -> None:
    component = data.draw(st.sampled_from(sorted(versions)))
    sha = data.draw(SHAS.filter(lambda s: s != versions[component]))
    assert Candidate("s", versions).moved(component, sha).id != Candidate("s", versions).id


# --- job criteria -------------------------------------------------------------


def test_nothing_reported_leaves_every_criterion_missing() -> None:
    verdict = verified()
    assert states(verdict) == {
        "job unit": (CriterionState.MISSING, ()),
        "any of jobs tempest-full, tempest-smoke": (CriterionState.MISSING, ()),
    }
    assert not verdict.promotable
    assert verdict.candidate == CANDIDATE.id


def test_every_job_passing_promotes_with_the_ids_that_satisfied_it() -> None:
    verdict = verified(result(1, "unit", PASSED), result(2, "tempest-smoke", PASSED))
    assert states(verdict) == {
        "job unit": (CriterionState.PASSED, (1,)),
        "any of jobs tempest-full, tempest-smoke": (CriterionState.PASSED, (2,)),
    }
    assert verdict.promotable


def test_a_failing_job_blocks_and_an_alternative_passing_unblocks() -> None:
    blocked = verified(result(1, "unit", PASSED), result(2, "tempest-full", FAILED))
    assert states(blocked)["any of jobs tempest-full, tempest-smoke"] == (
        CriterionState.FAILED,
        (2,),
    )
    unblocked = verified(
        result(1, "unit", PASSED),
        result(2, "tempest-full", FAILED),
        result(3, "tempest-smoke", PASSED),
    )
    assert unblocked.promotable


def test_a_newer_failure_from_the_same_account_overrides_an_older_pass() -> None:
    verdict = verified(result(1, "unit", PASSED, ago=90), result(2, "unit", FAILED, ago=30))
    assert states(verdict)["job unit"] == (CriterionState.FAILED, (2,))


def test_a_tie_in_time_is_broken_by_the_result_id() -> None:
    verdict = verified(result(7, "unit", FAILED), result(8, "unit", PASSED))
    assert states(verdict)["job unit"] == (CriterionState.PASSED, (8,))


def test_another_counted_account_passing_outweighs_a_failure() -> None:
    verdict = verified(result(1, "unit", FAILED), result(2, "unit", PASSED, account="other-ci"))
    assert states(verdict)["job unit"] == (CriterionState.PASSED, (2,))


def test_results_of_accounts_that_do_not_count_are_ignored() -> None:
    verdict = verified(result(1, "unit", PASSED, account="someone-else"))
    assert states(verdict)["job unit"] == (CriterionState.MISSING, ())


@pytest.mark.parametrize("value", [ResultValue.IN_PROGRESS, ResultValue.SKIPPED])
def test_a_result_that_did_not_end_is_missing_not_failed(value: ResultValue) -> None:
    assert states(verified(result(1, "unit", value)))["job unit"][0] is CriterionState.MISSING


def test_unstable_blocks_like_a_failure() -> None:
    assert states(verified(result(1, "unit", ResultValue.UNSTABLE)))["job unit"] == (
        CriterionState.FAILED,
        (1,),
    )


def test_a_failure_beside_a_run_still_going_is_not_yet_failed() -> None:
    verdict = verified(
        result(1, "tempest-full", FAILED), result(2, "tempest-smoke", ResultValue.IN_PROGRESS)
    )
    assert states(verdict)["any of jobs tempest-full, tempest-smoke"][0] is CriterionState.MISSING


def daily(
    *results: CandidateResult,
    reached: datetime | None = NOW - timedelta(hours=2),
    approvers: tuple[str, ...] = ("rm1", "rm2"),
) -> Verdict:
    approvals = tuple(ManualApproval(a, NOW) for a in approvers)
    return decide(DAILY, CANDIDATE, Evidence(results, approvals), reached, NOW)


def test_evidence_older_than_max_age_no_longer_counts() -> None:
    assert states(daily(result(1, "deploy", PASSED, ago=2 * 24 * 60)))["job deploy"][0] is (
        CriterionState.PASSED
    )
    stale = daily(result(1, "deploy", PASSED, ago=2 * 24 * 60 + 1))
    assert states(stale)["job deploy"] == (CriterionState.MISSING, ())


# --- the level below, soak, approvals ----------------------------------------


def test_a_level_above_waits_for_the_level_below_then_for_the_soak() -> None:
    deploy = result(1, "deploy", PASSED)
    assert states(daily(deploy, reached=None))["reached verified"][0] is CriterionState.MISSING
    assert states(daily(deploy, reached=None))["soak 1h"][0] is CriterionState.MISSING
    young = daily(deploy, reached=NOW - timedelta(minutes=59))
    assert states(young)["reached verified"][0] is CriterionState.PASSED
    assert states(young)["soak 1h"][0] is CriterionState.MISSING
    assert not young.promotable
    assert daily(deploy, reached=NOW - timedelta(hours=1)).promotable


def test_approvals_need_enough_distinct_named_accounts() -> None:
    deploy = result(1, "deploy", PASSED)
    label = "2 approval(s) by rm1, rm2, rm3"
    for approvers, state in [
        ((), CriterionState.MISSING),
        (("rm1", "rm1"), CriterionState.MISSING),
        (("rm1", "intruder"), CriterionState.MISSING),
        (("rm3", "rm1"), CriterionState.PASSED),
    ]:
        verdict = daily(deploy, approvers=approvers)
        (approval,) = (c for c in verdict.criteria if c.criterion == label)
        assert approval.state is state
    assert [c.approvers for c in daily(deploy).criteria if c.approvers] == [("rm1", "rm2")]


def test_the_model_refuses_impossible_levels_and_rules() -> None:
    with pytest.raises(ValueError, match="soak"):
        Level("v", None, (JobCriterion(("unit",)),), ("ci",), soak=timedelta(hours=1))
    with pytest.raises(ValueError, match="approvals"):
        ApprovalRule(("rm",), count=2)
    with pytest.raises(ValueError, match="jobs"):
        Level("v", None, (), ("ci",))


# --- properties ---------------------------------------------------------------

JOBS = ("unit", "tempest-full", "tempest-smoke", "other")
RESULTS = st.lists(
    st.builds(
        CandidateResult,
        id=st.integers(1, 10_000),
        job=st.sampled_from(JOBS),
        account=st.sampled_from(("crosscheck", "other-ci", "ignored")),
        value=st.sampled_from(ResultValue),
        reported_at=st.integers(0, 600).map(lambda m: NOW - timedelta(minutes=m)),
    ),
    max_size=12,
    unique_by=lambda r: r.id,  # ids are unique in the store
)


@given(RESULTS, st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_the_order_results_arrive_in(
    results: list[CandidateResult], rng: random.Random
) -> None:
    shuffled = list(results)
    rng.shuffle(shuffled)
    assert verified(*shuffled) == verified(*results)


@given(RESULTS, st.sampled_from(JOBS), st.sampled_from(("crosscheck", "other-ci")), st.data())
def test_adding_a_pass_never_turns_a_passed_criterion_into_failed(
    results: list[CandidateResult], job: str, account: str, data: st.DataObject
) -> None:
    new_id = max((r.id for r in results), default=0) + 1
    minutes = data.draw(st.integers(0, 600))
    added = CandidateResult(new_id, job, account, PASSED, NOW - timedelta(minutes=minutes))
    before, after = states(verified(*results)), states(verified(*results, added))
    for criterion, (state, _) in before.items():
        if state is CriterionState.PASSED:
            assert after[criterion][0] is CriterionState.PASSED


@given(RESULTS, st.sampled_from(("unit", "tempest-full")))
def test_a_newer_failure_overrides_the_same_accounts_older_pass(
    results: list[CandidateResult], job: str
) -> None:
    others = [r for r in results if r.account != "other-ci"]  # no other counted account passes
    others = [r for r in others if not (r.account == "crosscheck" and r.job in JOBS[:3])]
    new_id = max((r.id for r in results), default=0)
    old_pass = CandidateResult(new_id + 1, job, "crosscheck", PASSED, NOW - timedelta(hours=2))
    new_fail = CandidateResult(new_id + 2, job, "crosscheck", FAILED, NOW - timedelta(hours=1))
    label = "job unit" if job == "unit" else "any of jobs tempest-full, tempest-smoke"
    assert states(verified(*others, old_pass))[label][0] is CriterionState.PASSED
    assert states(verified(*others, old_pass, new_fail))[label] == (
        CriterionState.FAILED,
        (new_fail.id,),
    )


# --- scenarios ----------------------------------------------------------------


def scenario(**changes: object) -> Scenario:
    fields: dict[str, object] = {
        "name": "os-nosdn",
        "components": (
            Component("nova", RefKind.BRANCH, "master", connection="review", project="nova"),
            Component("vpp", RefKind.SHA, A, git_url="https://git.fd.io/vpp"),
        ),
        "levels": (VERIFIED, DAILY),
        "channels": (ReleaseChannel("developer", "daily"),),
    }
    return Scenario(**(fields | changes))  # type: ignore[arg-type]


def test_a_scenario_knows_its_chain_and_channels() -> None:
    built = scenario()
    assert built.level_above("verified") == DAILY
    assert built.level_above("daily") is None
    assert built.component("vpp").pinned
    assert not built.component("nova").pinned
    assert built.channels[0].qualifies(["verified", "daily"])
    assert not built.channels[0].qualifies(["verified"])


@pytest.mark.parametrize(
    "changes",
    [
        {"levels": (DAILY, VERIFIED)},
        {"levels": (VERIFIED, VERIFIED)},
        {"channels": (ReleaseChannel("stable", "release"),)},
    ],
    ids=["out of order", "twice", "unknown channel level"],
)
def test_a_scenario_refuses_what_a_builder_got_wrong(changes: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):
        scenario(**changes)


def test_a_component_is_on_gerrit_or_at_a_git_url_and_a_sha_is_full() -> None:
    with pytest.raises(ValueError, match="connection and project"):
        Component("x", RefKind.BRANCH, "master", connection="review")
    with pytest.raises(ValueError, match="full commit"):
        Component("x", RefKind.SHA, "abc", git_url="https://example.org/x")


# --- what a promotion keeps -------------------------------------------------------


def test_a_verdicts_evidence_is_the_ids_of_its_passed_criteria() -> None:
    verdict = verified(result(1, "unit", PASSED), result(2, "tempest-full", FAILED))
    assert verdict.evidence == {"job unit": (1,)}
    passed = verified(result(1, "unit", PASSED), result(3, "tempest-smoke", PASSED))
    assert passed.evidence == {"job unit": (1,), "any of jobs tempest-full, tempest-smoke": (3,)}


def test_candidates_are_ordered_by_creation_then_id() -> None:
    other = Candidate("os-nosdn", {"nova": C, "apex": B})
    first = CandidateRecord(CANDIDATE, CandidateOrigin.MERGE, NOW)
    later = CandidateRecord(other, CandidateOrigin.TIMER, NOW + timedelta(seconds=1))
    assert first.newness < later.newness
    assert first.id == CANDIDATE.id
    same_time = CandidateRecord(other, "operator", NOW)
    assert (first.newness < same_time.newness) == (CANDIDATE.id < other.id)
