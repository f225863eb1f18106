"""Levels of tests and the rules that decide whether a candidate is promoted to one.

A level (verified, daily, weekly, release) names the level below it and its criteria:
required jobs (each with alternatives), the CI accounts whose results count, a soak
time at the level below, a maximum age of the evidence and optional approvals. The
decision is a pure function of the level, the candidate's evidence and the time, so
the engine can run it whenever evidence arrives and `promotion explain` can show it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from crosscheck.model.candidate import CANDIDATE_ID, Candidate
from crosscheck.model.results import ResultValue, outcome_problems


@dataclass(frozen=True)
class JobCriterion:
    """A required job: any one of `alternatives` passing satisfies it."""

    alternatives: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.alternatives:
            raise ValueError("a job criterion names at least one job")

    @property
    def label(self) -> str:
        if len(self.alternatives) == 1:
            return f"job {self.alternatives[0]}"
        return "any of jobs " + ", ".join(self.alternatives)


@dataclass(frozen=True)
class ApprovalRule:
    """`count` distinct accounts among `by` must approve."""

    by: tuple[str, ...]
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.count <= len(set(self.by)):
            raise ValueError(f"{self.count} approvals cannot come from {list(self.by)}")


@dataclass(frozen=True)
class PublishRule:
    """What each promotion to a level publishes once it is committed.

    `tag`: the annotated tag `<scenario>/<level>/<YYYY.MM.DD-HHMMSS>` in every Gerrit
    component at its version; `manifest`: the pinned versions as YAML and JSON (the
    level's current ones, and one per promotion); `webhook`: a POST of the same
    manifest to this http(s) URL, signed when a secret is named.
    """

    tag: bool = False
    manifest: bool = False
    webhook: str | None = None
    #: Where the secret that signs the webhook's body is (an environment variable, or a
    #: file); read when it is sent, never held.
    webhook_secret_env: str | None = None
    webhook_secret_file: Path | None = None

    def __post_init__(self) -> None:
        if not (self.tag or self.manifest or self.webhook):
            raise ValueError("a publish rule publishes something")


@dataclass(frozen=True)
class Level:
    name: str
    #: None for the first level of a scenario.
    below: str | None
    jobs: tuple[JobCriterion, ...]
    #: CI accounts whose results count (crosscheck's own account is one like any other).
    accounts: tuple[str, ...]
    #: Minimum time a candidate spends at the level below before it may climb.
    soak: timedelta | None = None
    #: Results older than this are no evidence any more.
    max_age: timedelta | None = None
    approvals: ApprovalRule | None = None
    publish: PublishRule | None = None

    def __post_init__(self) -> None:
        if not self.jobs or not self.accounts:
            raise ValueError(f"level {self.name!r} needs jobs and accounts")
        if self.soak is not None and self.below is None:
            raise ValueError(f"level {self.name!r} has a soak time but no level below")


@dataclass(frozen=True)
class NewCandidateResult:
    """A result as a CI submits it for a candidate; the service adds the account and times."""

    candidate: str
    job: str
    value: ResultValue
    url: str | None = None
    #: Seconds.
    duration: float | None = None
    comment: str | None = None
    #: When the CI says the result was produced; None means now.
    reported_at: datetime | None = None


def candidate_result_problems(
    result: NewCandidateResult, now: datetime, *, max_age: timedelta | None = None
) -> list[tuple[str, str]]:
    """Every problem with a submitted candidate result, as (field, message)."""
    problems: list[tuple[str, str]] = []
    if not CANDIDATE_ID.match(result.candidate):
        problems.append(("candidate", "must be a candidate id (64 lowercase hex digits)"))
    return problems + outcome_problems(result, now, max_age=max_age)


@dataclass(frozen=True)
class CandidateResult:
    """A CI account's result of one job on a candidate, as the results service keeps it."""

    id: int
    job: str
    account: str
    value: ResultValue
    reported_at: datetime
    candidate: str = ""
    url: str | None = None
    duration: float | None = None
    comment: str | None = None

    @property
    def newness(self) -> tuple[datetime, int]:
        """The rule of `model.results.Result.newness`: newest, ties broken by id."""
        return (self.reported_at, self.id)


@dataclass(frozen=True)
class ManualApproval:
    account: str
    approved_at: datetime


@dataclass(frozen=True)
class Evidence:
    """Everything known about a candidate that a level's criteria look at."""

    results: tuple[CandidateResult, ...] = ()
    approvals: tuple[ManualApproval, ...] = ()


class CriterionKind(StrEnum):
    BELOW = "below"
    SOAK = "soak"
    JOB = "job"
    APPROVAL = "approval"


class CriterionState(StrEnum):
    PASSED = "passed"
    MISSING = "missing"
    FAILED = "failed"


@dataclass(frozen=True)
class CriterionVerdict:
    """One criterion's state, and what decided it.

    `result_ids` are the results that satisfied a passed job criterion, or the failed
    results that block a failed one; `approvers` the accounts that approved.
    """

    criterion: str
    state: CriterionState
    result_ids: tuple[int, ...] = ()
    approvers: tuple[str, ...] = ()
    kind: CriterionKind = CriterionKind.JOB


@dataclass(frozen=True)
class Verdict:
    level: str
    candidate: str
    criteria: tuple[CriterionVerdict, ...] = field(default_factory=tuple)

    @property
    def promotable(self) -> bool:
        return all(c.state is CriterionState.PASSED for c in self.criteria)

    @property
    def waits_only_for_soak(self) -> bool:
        """Every criterion passed but the soak time: time alone will promote."""
        waiting = [c.kind for c in self.criteria if c.state is not CriterionState.PASSED]
        return waiting == [CriterionKind.SOAK]

    @property
    def evidence(self) -> dict[str, tuple[int, ...]]:
        """Per passed criterion, the result ids that satisfied it: what a promotion keeps."""
        return {
            c.criterion: c.result_ids for c in self.criteria if c.state is CriterionState.PASSED
        }


def decide(
    level: Level,
    candidate: Candidate,
    evidence: Evidence,
    reached_below: datetime | None,
    now: datetime,
) -> Verdict:
    """Whether `candidate` may be promoted to `level` at `now`, criterion by criterion.

    `reached_below` is when the candidate reached the level below (None: it has not);
    it is ignored for a first level.
    """
    current = current_candidate_results(evidence.results)
    criteria = [_job_verdict(job, level, current, now) for job in level.jobs]
    if level.below is not None:
        criteria.insert(0, _below_verdict(level.below, reached_below))
    if level.soak is not None:
        criteria.append(_soak_verdict(level.soak, reached_below, now))
    if level.approvals is not None:
        criteria.append(_approval_verdict(level.approvals, evidence.approvals))
    return Verdict(level.name, candidate.id, tuple(criteria))


def current_candidate_results(results: Iterable[CandidateResult]) -> list[CandidateResult]:
    """The newest result per job and CI account (as `current_results` for patchsets)."""
    newest: dict[tuple[str, str], CandidateResult] = {}
    for result in results:
        seen = newest.get((result.job, result.account))
        if seen is None or result.newness > seen.newness:
            newest[(result.job, result.account)] = result
    return sorted(newest.values(), key=lambda r: r.id)


def _job_verdict(
    job: JobCriterion, level: Level, current: list[CandidateResult], now: datetime
) -> CriterionVerdict:
    counted = [r for r in current if r.job in job.alternatives and r.account in level.accounts]
    passed = [r.id for r in counted if r.value is ResultValue.PASSED and _fresh(r, level, now)]
    if passed:
        return CriterionVerdict(job.label, CriterionState.PASSED, tuple(passed))
    # Unstable is final and not a pass: it blocks as a failure does, until a new result.
    failed = [r.id for r in counted if r.value in (ResultValue.FAILED, ResultValue.UNSTABLE)]
    if counted and len(failed) == len(counted):
        return CriterionVerdict(job.label, CriterionState.FAILED, tuple(failed))
    return CriterionVerdict(job.label, CriterionState.MISSING)


def _fresh(result: CandidateResult, level: Level, now: datetime) -> bool:
    return level.max_age is None or now - result.reported_at <= level.max_age


def _below_verdict(below: str, reached_below: datetime | None) -> CriterionVerdict:
    state = CriterionState.MISSING if reached_below is None else CriterionState.PASSED
    return CriterionVerdict(f"reached {below}", state, kind=CriterionKind.BELOW)


def _soak_verdict(
    soak: timedelta, reached_below: datetime | None, now: datetime
) -> CriterionVerdict:
    soaked = reached_below is not None and now - reached_below >= soak
    state = CriterionState.PASSED if soaked else CriterionState.MISSING
    return CriterionVerdict(f"soak {_span(soak)}", state, kind=CriterionKind.SOAK)


def _approval_verdict(rule: ApprovalRule, approvals: Iterable[ManualApproval]) -> CriterionVerdict:
    approvers = tuple(sorted({a.account for a in approvals if a.account in rule.by}))
    state = CriterionState.PASSED if len(approvers) >= rule.count else CriterionState.MISSING
    label = f"{rule.count} approval(s) by " + ", ".join(rule.by)
    return CriterionVerdict(label, state, approvers=approvers, kind=CriterionKind.APPROVAL)


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = zip((days, hours, minutes, seconds), "dhms", strict=True)
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


# -- what the store keeps: levels' pointers and the promotion history ----------------


class PromotionKind(StrEnum):
    """How a level's pointer moved: a rule promoted, or an operator moved it back."""

    PROMOTE = "promote"
    DEMOTE = "demote"
    #: A demotion to the candidate the level held before its last move.
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class LevelPointer:
    """The candidate a scenario's level holds now (DLRN's `current-tripleo`).

    `generation` counts the pointer's moves: it only grows, so a reader can tell
    whether the pointer moved since it last looked.
    """

    scenario: str
    level: str
    candidate: str
    moved_at: datetime
    generation: int


@dataclass(frozen=True)
class PromotionRecord:
    """One move of a level's pointer, kept forever: the level's history.

    `candidate` is where the pointer went (None: an operator cleared it), `previous`
    where it was (None: nowhere). `by` is the rule (e.g. "criteria") or the account
    that moved it; `evidence` maps each criterion to the result ids that satisfied it
    (empty for a demotion). `generation` is the pointer's generation after the move.
    """

    id: int
    scenario: str
    level: str
    kind: PromotionKind
    candidate: str | None
    previous: str | None
    at: datetime
    by: str
    reason: str
    evidence: Mapping[str, tuple[int, ...]]
    generation: int
