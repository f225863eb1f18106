"""Which pipelines an event enqueues an item in: trigger matching, pure and fast.

Every field a trigger sets must match. Project, branch and ref patterns match from
the start of the value (Zuul's convention); a comment pattern may match anywhere,
since review messages start with "Patch Set N:". A timer event names its pipeline:
it matches that pipeline alone, while the pipeline still has a timer trigger.

Some events match and still trigger nothing (`ignored_reason`): those of the CI's
own account (its review messages must never trigger it again) and of the accounts
the connection names, and those on a closed change.
"""

from __future__ import annotations

from dataclasses import dataclass

from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.events import PROMOTION, Event
from crosscheck.model.pipeline import GerritTrigger, Pipeline


def trigger_matches(trigger: GerritTrigger, event: Event) -> bool:
    if trigger.connection != event.connection or event.type not in trigger.events:
        return False
    change = event.change
    account = event.account
    checks = (
        (trigger.project, event.project),
        (trigger.branch, change.branch if change else None),
        (trigger.ref, event.ref),
        (trigger.username, account.username if account else None),
        (trigger.email, account.email if account else None),
    )
    for pattern, value in checks:
        if pattern is not None and (value is None or not pattern.match(value)):
            return False
    if not _comment_matches(trigger, event.comment or ""):
        return False
    votes = {a.label: a.value for a in event.approvals}
    return all(votes.get(label) == value for label, value in trigger.approvals.items())


def _comment_matches(trigger: GerritTrigger, comment: str) -> bool:
    patterns = [p for p in (trigger.comment, trigger.run_comment) if p is not None]
    return not patterns or any(p.search(comment) for p in patterns)


#: Why a matching event triggers nothing (the `reason` of metrics.events_ignored).
OWN_ACCOUNT = "own-account"
IGNORED_ACCOUNT = "ignored-account"
CLOSED_CHANGE = "closed-change"
OLD_PATCHSET = "old-patchset"
#: A pipeline that skips the change's state: `skip_wip`, `skip_private`.
SKIPPED_STATE = "skipped-state"


def ignored_reason(connection: GerritConnection | None, event: Event) -> str | None:
    """Why an event that matches a trigger must still trigger nothing, or None."""
    if connection is not None and connection.ignores_as_own(event.account):
        return OWN_ACCOUNT
    names = event.account.names if event.account else frozenset()
    if connection is not None and names & connection.ignore_accounts:
        return IGNORED_ACCOUNT
    change = event.change
    # The merge of a change is what a post pipeline runs on; anything else on a closed
    # change (a recheck on an abandoned one, a catch-up replay) is work for nothing.
    if change is not None and change.closed and event.type != EventType.CHANGE_MERGED:
        return CLOSED_CHANGE
    return None


def skipped_state(pipeline: Pipeline, event: Event) -> str | None:
    """Why the pipeline ignores this change's state, or None."""
    change = event.change
    if change is None:
        return None
    if pipeline.skip_wip and change.wip:
        return "work in progress"
    if pipeline.skip_private and change.private:
        return "private"
    return None


@dataclass(frozen=True)
class Triggered:
    #: Pipelines the event enqueues an item in.
    pipelines: list[Pipeline]
    #: Pipelines it triggers that skip its change's state (WIP, private), with why:
    #: an operator wondering why a change was not tested reads it in the log.
    skipped: list[tuple[Pipeline, str]]


def triggered(config: Config, event: Event) -> Triggered:
    """The pipelines with a trigger for this event, on a project that has jobs in them,
    parted by whether they take the change in its state; each trigger is matched once."""
    found = Triggered([], [])
    for pipeline in _triggered(config, event):
        why = skipped_state(pipeline, event)
        if why is None:
            found.pipelines.append(pipeline)
        else:
            found.skipped.append((pipeline, why))
    return found


def matching_pipelines(config: Config, event: Event) -> list[Pipeline]:
    """Pipelines with a trigger for this event, on a project that has jobs in them."""
    return triggered(config, event).pipelines


def _triggered(config: Config, event: Event) -> list[Pipeline]:
    if event.project is None:
        return []
    if event.connection == PROMOTION:
        # A pipeline of candidates' tick: no project entry lists it.
        return [
            pipeline
            for pipeline in config.pipelines.values()
            if pipeline.candidates is not None and triggers(pipeline, event)
        ]
    entries = config.projects_for(event.project)
    wanted = {
        name
        for entry in entries
        if entry.connection in (None, event.connection)
        for name in entry.pipelines
    }
    return [
        pipeline
        for name, pipeline in config.pipelines.items()
        if name in wanted and triggers(pipeline, event)
    ]


def triggers(pipeline: Pipeline, event: Event) -> bool:
    """Whether one of the pipeline's triggers matches the event."""
    if event.timer is not None:
        return event.timer.pipeline == pipeline.name and bool(pipeline.timers)
    return any(
        isinstance(t, GerritTrigger) and trigger_matches(t, event) for t in pipeline.triggers
    )
