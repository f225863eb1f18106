"""The one report an item gets: its outcome, the vote, and the message tooling parses.

    Build failed (check pipeline).

    - acme-cinder-iscsi https://ci.example.org/logs/.../ : SUCCESS in 3m 02s
    - acme-cinder-fc https://ci.example.org/logs/.../ : FAILURE in 41s — step 2 'make test' exited 2

This is the format Zuul writes and CI dashboards (ci-watch, Stackalytics) and
crosscheck's own results backfill read back. A line that did not succeed ends with
its reason after `DETAIL_SEPARATOR`, after everything those parsers read.

The outcome decides the reporters and the headline. Only the voting jobs count, and
only a fault of the change may cost it a vote: a job that failed for real makes it a
failure whatever else happened; else a merge conflict (the change's own problem, so
the failure reporters by default, as Zuul does); else an infrastructure error (Gerrit,
git or a node unreachable once the attempts ran out), which by default casts no vote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from crosscheck.model.build import BuildResult, format_duration
from crosscheck.model.pipeline import Pipeline, ReportAction
from crosscheck.model.report import DETAIL_SEPARATOR, JobLine

#: A reason longer than this is cut: a line is read at a glance, the logs say the rest.
MAX_DETAIL = 200
#: Results that are no verdict on the change: the build could not run.
INFRASTRUCTURE = frozenset({BuildResult.ERROR.value, BuildResult.NODE_FAILURE.value})


class Outcome(StrEnum):
    """What an item's report says of the change; each has its pipeline reporters."""

    SUCCESS = "success"
    FAILURE = "failure"
    MERGE_CONFLICT = "merge_conflict"
    ERROR = "error"


#: The item's `detail` once reported, by outcome.
VERDICTS = {
    Outcome.SUCCESS: "passed",
    Outcome.FAILURE: "failed",
    Outcome.MERGE_CONFLICT: "merge conflict",
    Outcome.ERROR: "infrastructure error",
}


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    headline: str
    #: What to do about it, after the job lines; "" when nothing needs saying.
    hint: str = ""


def item_outcome(lines: Sequence[JobLine]) -> Outcome:
    """The outcome of an item from its jobs' final results; non-voting jobs never count."""
    voting = {line.result for line in lines if line.voting}
    accepted = {BuildResult.SUCCESS.value, BuildResult.MERGE_CONFLICT.value, *INFRASTRUCTURE}
    if voting - accepted:
        return Outcome.FAILURE
    if BuildResult.MERGE_CONFLICT.value in voting:
        return Outcome.MERGE_CONFLICT
    if voting & INFRASTRUCTURE:
        return Outcome.ERROR
    return Outcome.SUCCESS


def decide(
    pipeline: str, lines: Sequence[JobLine], *, patchset: int | None, branch: str
) -> Verdict:
    """The item's outcome and the headline of its report."""
    outcome = item_outcome(lines)
    where = f"({pipeline} pipeline)"
    if outcome is Outcome.SUCCESS:
        return Verdict(outcome, f"Build succeeded {where}.")
    if outcome is Outcome.FAILURE:
        return Verdict(outcome, f"Build failed {where}.")
    if outcome is Outcome.MERGE_CONFLICT:
        which = f"patchset {patchset}" if patchset is not None else "the change"
        return Verdict(
            outcome,
            f"Merge failed {where}: {which} does not merge onto {branch}.",
            f"To test it, rebase the change onto the tip of {branch} and push it again.",
        )
    return Verdict(
        outcome,
        f"Build could not run {where}: infrastructure error, no vote cast.",
        "The change was not tested: this is no verdict on it. The reason is on each "
        "job's line; a new patchset or a recheck runs the jobs again.",
    )


def reporters(pipeline: Pipeline, outcome: Outcome) -> tuple[ReportAction, ...]:
    """The pipeline's reporters of an outcome (defaults resolved when it was loaded)."""
    if outcome is Outcome.SUCCESS:
        return pipeline.success
    if outcome is Outcome.MERGE_CONFLICT:
        return pipeline.merge_conflict
    if outcome is Outcome.ERROR:
        return pipeline.error
    return pipeline.failure


def item_message(verdict: Verdict, lines: Sequence[JobLine], info_url: str | None) -> str:
    parts = [verdict.headline, ""]
    parts += [job_line(line) for line in lines]
    if verdict.hint:
        parts += ["", verdict.hint]
    if info_url:
        parts += ["", f"For more about this CI: {info_url}"]
    return "\n".join(parts)


def job_line(line: JobLine) -> str:
    """`- job URL : RESULT in 1m 02s (non-voting)`, then the reason of a non-success."""
    suffix = "" if line.voting else " (non-voting)"
    where = f" {line.url}" if line.url else ""
    text = f"- {line.job}{where} : {line.result} in {format_duration(line.duration)}{suffix}"
    reason = short_detail(line.detail) if line.result != BuildResult.SUCCESS else ""
    return f"{text}{DETAIL_SEPARATOR}{reason}" if reason else text


def short_detail(detail: str) -> str:
    """One line of at most MAX_DETAIL characters: the report keeps one line per job."""
    flat = " ".join(detail.split())
    if len(flat) <= MAX_DETAIL:
        return flat
    return flat[: MAX_DETAIL - 1].rstrip() + "…"


def start_message(pipeline: str, jobs: Sequence[str]) -> str:
    return f"Starting {pipeline} jobs: {', '.join(jobs)}."
