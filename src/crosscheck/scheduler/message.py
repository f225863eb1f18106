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
from crosscheck.model.item_context import Dependency, ScenarioVersions
from crosscheck.model.pipeline import Pipeline, ReportAction
from crosscheck.model.report import DETAIL_SEPARATOR, JobLine

#: A reason longer than this is cut: a line is read at a glance, the logs say the rest.
MAX_DETAIL = 200
#: Characters of a commit id in a report: unambiguous in practice, and short.
SHORT = 12
#: Results that are no verdict on the change: the build could not run.
INFRASTRUCTURE = frozenset({BuildResult.ERROR.value, BuildResult.NODE_FAILURE.value})


class Outcome(StrEnum):
    """What an item's report says of the change; each has its pipeline reporters."""

    SUCCESS = "success"
    FAILURE = "failure"
    MERGE_CONFLICT = "merge_conflict"
    ERROR = "error"
    #: A Depends-On footer names what cannot be built with: reported, never built.
    DEPENDENCY = "dependency"


#: The item's `detail` once reported, by outcome.
VERDICTS = {
    Outcome.SUCCESS: "passed",
    Outcome.FAILURE: "failed",
    Outcome.MERGE_CONFLICT: "merge conflict",
    Outcome.ERROR: "infrastructure error",
    Outcome.DEPENDENCY: "dependency problem",
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
    pipeline: str,
    lines: Sequence[JobLine],
    *,
    patchset: int | None,
    branch: str,
    in_scenario: bool = False,
    depends: bool = False,
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
        if depends:
            # As Zuul says it: the job's line names which change did not apply onto what.
            which += " or a change it depends on"
        if in_scenario:
            return Verdict(
                outcome,
                f"Merge failed {where}: {which} does not apply onto the versions of its scenario.",
                "Each job's line says onto which component; the versions are below. "
                f"Rebasing onto {branch} helps only when the conflict is with its tip.",
            )
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
    if outcome in (Outcome.ERROR, Outcome.DEPENDENCY):
        # Another change's state is no verdict on this one: no vote by default.
        return pipeline.error
    return pipeline.failure


def dependency_verdict(pipeline: str, problem: str) -> Verdict:
    return Verdict(
        Outcome.DEPENDENCY,
        f"Build not run ({pipeline} pipeline): {problem}",
        "No job ran and no vote is cast. Fix the Depends-On footer and push a new "
        "patchset, or comment recheck once the dependency can be used.",
    )


def unavailable_verdict(pipeline: str, problem: str) -> Verdict:
    return Verdict(
        Outcome.ERROR,
        f"Build could not run ({pipeline} pipeline): {problem}",
        "The change was not tested: this is no verdict on it. The CI's configuration "
        "names a version that does not exist; its operator is told in the logs, and a "
        "recheck runs the jobs again once it is fixed.",
    )


def item_message(
    verdict: Verdict,
    lines: Sequence[JobLine],
    info_url: str | None,
    scenarios: Sequence[str] = (),
) -> str:
    parts = [verdict.headline]
    if lines:
        parts += ["", *(job_line(line) for line in lines)]
    if scenarios:
        parts += ["", *scenarios]
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


@dataclass(frozen=True)
class Applied:
    """A change merged into a build's workspace: the item's own, or a dependency."""

    connection: str
    project: str
    label: str


def applied_changes(
    connection: str, project: str, own: str | None, dependencies: Sequence[Dependency]
) -> list[Applied]:
    """The item's change (`own`, a label) and its unmerged dependencies, deepest first."""
    found = [Applied(d.connection, d.project, d.label) for d in dependencies if not d.merged]
    return found + ([Applied(connection, project, own)] if own else [])


def scenario_line(versions: ScenarioVersions, applied: Sequence[Applied] = ()) -> str:
    """`Scenario os-odl, candidate 3f2a9c1b0e4d at daily: nova 1a2b3c4d5e6f +upstream:12,2;
    odl 9f8e7d6c5b4a`: enough to check the same versions out again."""
    if versions.candidate is None:
        taken = "no candidate yet, components at their configured refs"
    else:
        where = f"at {versions.level}" if versions.level else "the newest"
        if versions.asked and not versions.level:
            where += f" ({versions.asked} holds none yet)"
        taken = f"candidate {versions.candidate[:SHORT]} {where}"
    parts = []
    placed: set[Applied] = set()
    for component in versions.components:
        on_it = [
            a
            for a in applied
            if (a.connection, a.project) == (component.connection, component.project)
        ]
        placed.update(on_it)
        parts.append(f"{component.name} {component.sha[:SHORT]}{_labels(on_it)}")
    beside = [a for a in applied if a not in placed]
    for project in dict.fromkeys(a.project for a in beside):
        parts.append(f"{project}{_labels([a for a in beside if a.project == project])}")
    return f"Scenario {versions.scenario}, {taken}: {'; '.join(parts)}"


def _labels(applied: Sequence[Applied]) -> str:
    return "".join(f" +{a.label}" for a in applied)


def start_message(pipeline: str, jobs: Sequence[str]) -> str:
    return f"Starting {pipeline} jobs: {', '.join(jobs)}."
