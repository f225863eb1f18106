"""Things that are valid but probably not what the operator meant."""

from __future__ import annotations

import re
from collections.abc import Mapping

from crosscheck.config.context import Context
from crosscheck.config.job_scenarios import job_scenario_warnings
from crosscheck.config.projects import project_key
from crosscheck.model.event_types import EventType
from crosscheck.model.job import Job
from crosscheck.model.pipeline import GerritTrigger, Pipeline
from crosscheck.model.project import Project


def collect_warnings(
    context: Context, jobs: Mapping[str, Job], projects: tuple[Project, ...]
) -> None:
    run = {
        job.name for project in projects for listed in project.pipelines.values() for job in listed
    }
    # A pipeline of candidates runs its jobs on candidates, not for a project.
    run |= {
        name
        for pipeline in context.pipelines.values()
        if pipeline.candidates is not None
        for name in pipeline.candidates.jobs
    }
    parents = {parent for job in jobs.values() for parent in job.inherits}
    for name in context.defined("job"):
        job = jobs.get(name)
        if job and not job.abstract and name not in run and name not in parents:
            context.issues.warning(
                f"job '{name}' is not run by any project",
                context.position_of("job", name),
                "add it to a project's pipeline, or remove it",
            )
    _unused(context, "job-template", "is not used by any project")
    _unused(context, "project-template", "is not used by any project")
    _unused(context, "label", "is not used by any job")
    for name, pipeline in context.pipelines.items():
        if pipeline.candidates is not None:
            _candidate_reports(context, pipeline)
            continue  # its items are candidates: no project, no change, no review
        if pipeline.timer_only:
            _timer_reports(context, pipeline)
        elif not pipeline.reports:
            context.issues.warning(
                f"pipeline '{name}' has no reporter: its results are recorded but never reported",
                context.position_of("pipeline", name),
                "add 'success:' and 'failure:' reporters",
            )
        _ready_for_review(context, pipeline)
        _comment_patterns(context, pipeline)
        _reports_where_triggered(context, pipeline)
        if name not in context.used.get("pipeline", set()):
            context.issues.warning(
                f"pipeline '{name}' runs no job for any project",
                context.position_of("pipeline", name),
            )
    for project in projects:
        if not any(project.pipelines.values()):
            context.issues.warning(
                f"project '{project.name}' runs no job in any pipeline",
                context.position_of("project", project_key(project.name, project.connection))
                or context.position_of("project", project.name),
            )
    if context.scenarios:
        # Imported here, as the loader builds scenarios: only for a configuration with any.
        from crosscheck.config.scenarios import scenario_warnings  # noqa: PLC0415

        scenario_warnings(context, jobs)
    job_scenario_warnings(context, jobs)


def _reports_where_triggered(context: Context, pipeline: Pipeline) -> None:
    """A change is reported to the Gerrit it came from, and only there: a connection the
    pipeline triggers on without a reporter of its own gets no report, and a reporter on
    a connection it never triggers on is never used."""
    if not pipeline.reports or pipeline.timer_only:
        return
    triggered = {t.connection for t in pipeline.triggers if isinstance(t, GerritTrigger)}
    actions = (*pipeline.start, *pipeline.success, *pipeline.failure, *pipeline.error)
    reported = {action.connection for action in actions}
    where = context.position_of("pipeline", pipeline.name)
    for connection in sorted(triggered - reported):
        context.issues.warning(
            f"pipeline '{pipeline.name}' triggers on '{connection}' but reports only to "
            f"{', '.join(repr(c) for c in sorted(reported))}: changes from '{connection}' get "
            "no report (a change is reported to the Gerrit it came from)",
            where,
            f"add '{connection}:' under its 'success:' and 'failure:'",
        )
    for connection in sorted(reported - triggered):
        context.issues.warning(
            f"pipeline '{pipeline.name}' reports to '{connection}' but never triggers on it: "
            "a change is reported only to the Gerrit it came from, so these reporters are "
            "never used",
            where,
            f"add '{connection}:' under its 'trigger:', or remove its reporters",
        )


def _timer_reports(context: Context, pipeline: Pipeline) -> None:
    """A timer's items are branch tips: there is no change to vote or comment on."""
    actions = (*pipeline.start, *pipeline.success, *pipeline.failure)
    if any(action.labels or action.comment for action in actions):
        context.issues.warning(
            f"pipeline '{pipeline.name}' is triggered only by a timer: its items are branch "
            "tips, not changes, so its reports to Gerrit are never sent",
            context.position_of("pipeline", pipeline.name),
            "remove its reporters; its builds and their logs are recorded all the same",
        )


def _candidate_reports(context: Context, pipeline: Pipeline) -> None:
    """A candidate's results go to the results service, as its evidence; Gerrit has no
    change to vote or comment on."""
    if not context.results.reporting:
        context.issues.warning(
            f"pipeline '{pipeline.name}' takes candidates, but job results are reported "
            "nowhere: its builds are no evidence for any level",
            context.position_of("pipeline", pipeline.name),
            "report results (the '- results:' element's 'report', on by default)",
        )
    if pipeline.reports:
        context.issues.warning(
            f"pipeline '{pipeline.name}' takes candidates: there is no change to report on "
            "in Gerrit, so its reporters are never used",
            context.position_of("pipeline", pipeline.name),
            "remove them; its results are reported to the results service, as evidence for "
            "the candidate's levels",
        )


def _ready_for_review(context: Context, pipeline: Pipeline) -> None:
    """Skipping WIP changes, a pipeline that only hears new patchsets never tests a
    change pushed as WIP and then marked ready: that mark uploads no patchset."""
    events = {e for t in pipeline.triggers if isinstance(t, GerritTrigger) for e in t.events}
    if (
        pipeline.skip_wip
        and EventType.PATCHSET_CREATED in events
        and EventType.WIP_STATE_CHANGED not in events
    ):
        context.issues.warning(
            f"pipeline '{pipeline.name}' skips work-in-progress changes and triggers on "
            "patchset-created but not on wip-state-changed: a change marked ready for "
            "review will not be tested",
            context.position_of("pipeline", pipeline.name),
            "add wip-state-changed: '- event: [wip-state-changed, change-restored]'",
        )


#: Words and phrases in a comment pattern, tried as what a reviewer would write.
_PHRASE = re.compile(r"[A-Za-z][A-Za-z -]*[A-Za-z]")


def _comment_patterns(context: Context, pipeline: Pipeline) -> None:
    """A comment pattern that matches every message, or only a bare word: Gerrit starts
    every review message with "Patch Set N:", so `^recheck$` never matches one."""
    position = context.position_of("pipeline", pipeline.name)
    for trigger in pipeline.triggers:
        pattern = trigger.comment if isinstance(trigger, GerritTrigger) else None
        if pattern is None:
            continue
        if pattern.search(""):
            context.issues.warning(
                f"pipeline '{pipeline.name}': comment pattern {pattern.pattern!r} matches "
                "every comment, so any review message (a human's, another CI's) starts a build",
                position,
                "match the words that ask for a build, e.g. '(?im)^recheck$'",
            )
            continue
        word = _bare_word_only(pattern)
        if word is not None:
            context.issues.warning(
                f"pipeline '{pipeline.name}': comment pattern {pattern.pattern!r} matches "
                f"'{word}' alone but never a review message, which Gerrit starts with "
                "'Patch Set N:'",
                position,
                "let ^ and $ match at each line with (?m), e.g. '(?im)^recheck$'",
            )


def _bare_word_only(pattern: re.Pattern[str]) -> str | None:
    words: list[str] = _PHRASE.findall(pattern.pattern)
    for word in words:
        if pattern.search(word) and not pattern.search(f"Patch Set 1:\n\n{word}"):
            return word
    return None


def _unused(context: Context, kind: str, why: str) -> None:
    used = context.used.get(kind, set())
    for name in context.defined(kind):
        if name not in used:
            context.issues.warning(f"{kind} '{name}' {why}", context.position_of(kind, name))
