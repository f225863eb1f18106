"""The `pipeline` elements: triggers checked against their connection's driver, reporters."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from crosscheck.config.context import Context, Entry
from crosscheck.config.issues import did_you_mean
from crosscheck.config.schema import GerritTriggerSpec, PipelineSpec, ReporterSpec, TimerTriggerSpec
from crosscheck.config.validation import validate
from crosscheck.config.yaml_source import Node, NodeList
from crosscheck.model.pipeline import (
    GerritTrigger,
    Manager,
    Pipeline,
    ReportAction,
    TimerTrigger,
    Trigger,
    recheck_pattern,
    run_pattern,
)

TIMER = "timer"
#: Reporter moments every pipeline has; `merge_conflict` and `error` default to failure's.
MOMENTS = ("start", "success", "failure")


def build_pipelines(context: Context, entries: list[Entry[PipelineSpec]]) -> None:
    for entry in entries:
        spec = entry.spec
        if not context.define("pipeline", spec.name, entry.position):
            continue
        triggers = _triggers(context, entry)
        reports = {moment: _reports(context, entry, moment) for moment in MOMENTS}
        failure = reports["failure"]
        reports["merge_conflict"] = _written_or(context, entry, "merge_conflict", failure)
        reports["error"] = _written_or(context, entry, "error", _without_votes(failure))
        context.pipelines[spec.name] = Pipeline(
            name=spec.name,
            manager=Manager(spec.manager),
            triggers=tuple(triggers),
            description=spec.description,
            skip_wip=spec.skip_wip,
            skip_private=spec.skip_private,
            current_patchset_only=spec.current_patchset_only,
            **reports,
        )


def _triggers(context: Context, entry: Entry[PipelineSpec]) -> list[Trigger]:
    body: Node = entry.body["trigger"]
    triggers: list[Trigger] = []
    for connection, rules in entry.spec.trigger.items():
        if context.is_broken("connection", connection):
            continue
        if connection != TIMER and connection not in context.connections:
            context.issues.error(
                f"pipeline '{entry.spec.name}' triggers on unknown connection '{connection}'",
                body.key_at[connection],
                did_you_mean(connection, [*context.connections, TIMER])
                or _known_connections(context),
            )
            continue
        raw = body[connection]
        raw_rules = raw if isinstance(raw, NodeList) else [raw]
        for index, rule in enumerate(rules):
            node = raw_rules[index] if index < len(raw_rules) else rule
            where = getattr(node, "start", body.position_of(connection))
            what = f"trigger {index + 1} on '{connection}' of pipeline '{entry.spec.name}'"
            if connection == TIMER:
                timer = validate(TimerTriggerSpec, node, context.issues, what, where)
                if timer:
                    branches = tuple(dict.fromkeys(timer.branches or ()))
                    triggers.append(TimerTrigger(cron=timer.time, branches=branches))
            else:
                gerrit = validate(GerritTriggerSpec, node, context.issues, what, where)
                if gerrit:
                    triggers.append(_gerrit_trigger(context, connection, gerrit))
    return triggers


def _gerrit_trigger(context: Context, connection: str, spec: GerritTriggerSpec) -> GerritTrigger:
    comment = spec.comment
    # `run <ci>` works on every comment trigger, whatever the operator's pattern; a
    # trigger on votes alone is about the votes, not the words.
    by_comment = "comment-added" in spec.event and not spec.approval
    if comment is None and by_comment:
        comment = recheck_pattern(context.ci.run_name)
    return GerritTrigger(
        connection=connection,
        events=frozenset(spec.event),
        project=_compile(spec.project),
        branch=_compile(spec.branch),
        ref=_compile(spec.ref),
        comment=_compile(comment),
        run_comment=re.compile(run_pattern(context.ci.run_name)) if by_comment else None,
        username=_compile(spec.username),
        email=_compile(spec.email),
        approvals=dict(spec.approval),
    )


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern is not None else None


def _written_or(
    context: Context,
    entry: Entry[PipelineSpec],
    moment: str,
    default: tuple[ReportAction, ...],
) -> tuple[ReportAction, ...]:
    """A moment's reporters as written (an empty one sends nothing), else `default`."""
    return _reports(context, entry, moment) if moment in entry.body else default


def _without_votes(actions: tuple[ReportAction, ...]) -> tuple[ReportAction, ...]:
    """An infrastructure error is no verdict on the change: say so, vote nothing."""
    return tuple(replace(action, labels={}, comment=True) for action in actions)


def _reports(context: Context, entry: Entry[PipelineSpec], moment: str) -> tuple[ReportAction, ...]:
    specs: dict[str, ReporterSpec] = getattr(entry.spec, moment) or {}
    body: Any = entry.body.get(moment)
    actions = []
    for connection, spec in specs.items():
        if context.is_broken("connection", connection):
            continue
        if connection not in context.connections:
            position = body.key_at[connection] if isinstance(body, Node) else entry.position
            context.issues.error(
                f"pipeline '{entry.spec.name}' reports {moment} to unknown connection "
                f"'{connection}'",
                position,
                did_you_mean(connection, context.connections) or _known_connections(context),
            )
            continue
        actions.append(
            ReportAction(
                connection=connection,
                labels=dict(spec.labels),
                comment=spec.comment,
                notify=spec.notify,
            )
        )
    return tuple(actions)


def _known_connections(context: Context) -> str:
    if not context.connections:
        return "no connection is defined: add a '- connection:' element"
    return "connections: " + ", ".join(sorted(context.connections))
