"""The `pipeline` elements: triggers checked against their connection's driver, reporters.

A trigger rule on a connection is checked by the spec of the connection's driver and
built by its builder (drivers/config.py); rules on `timer` are crosscheck's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from crosscheck.config.context import Context, Entry
from crosscheck.config.issues import Position, did_you_mean
from crosscheck.config.scenario_hints import level_hint, scenario_hint
from crosscheck.config.schema import PipelineSpec, ReporterSpec, TimerTriggerSpec
from crosscheck.config.validation import validate
from crosscheck.config.yaml_source import Node, NodeList
from crosscheck.drivers.config import TriggerContext
from crosscheck.model.job import Job
from crosscheck.model.pipeline import (
    CandidateSource,
    Manager,
    Pipeline,
    ReportAction,
    TimerTrigger,
    Trigger,
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
            candidates=_candidates(spec),
            **reports,
        )


def _candidates(spec: PipelineSpec) -> CandidateSource | None:
    found = spec.candidates
    if found is None:
        return None
    jobs = tuple(dict.fromkeys(found.jobs))
    return CandidateSource(found.scenario, found.level, jobs, found.on_move)


def check_candidate_pipelines(
    context: Context, entries: list[Entry[PipelineSpec]], jobs: Mapping[str, Job]
) -> None:
    """Once scenarios and jobs are built: a pipeline of candidates names a scenario, one
    of its levels, and jobs that can run."""
    for entry in entries:
        source = entry.spec.candidates
        if source is None:
            continue
        body: Node = entry.body["candidates"]
        what = f"pipeline '{entry.spec.name}'"
        if entry.spec.name in context.used.get("pipeline", set()):
            context.issues.error(
                f"{what} takes candidates, yet a project lists jobs in it",
                entry.position,
                "a project's jobs run on its changes: list them in another pipeline, and "
                "this pipeline's jobs in its 'candidates.jobs'",
            )
        scenario = context.scenarios.get(source.scenario)
        if scenario is None:
            if not context.is_broken("scenario", source.scenario):
                context.issues.error(
                    f"{what} takes candidates of unknown scenario '{source.scenario}'",
                    body.position_of("scenario"),
                    scenario_hint(context, source.scenario),
                )
            continue
        if source.level is not None and source.level not in {lv.name for lv in scenario.levels}:
            context.issues.error(
                f"{what} takes candidates at unknown level '{source.level}' of '{scenario.name}'",
                body.position_of("level"),
                level_hint(scenario, source.level),
            )
        for index, name in enumerate(source.jobs):
            job = jobs.get(name)
            if job is None or job.abstract:
                runnable = [n for n, j in jobs.items() if not j.abstract]
                why = "unknown" if job is None else "abstract (it only lends its settings)"
                context.issues.error(
                    f"{what} runs {why} job '{name}' on its candidates",
                    _item(body, "jobs", index),
                    did_you_mean(name, runnable),
                )


def _item(body: Node, key: str, index: int) -> Position:
    listed = body[key]
    if isinstance(listed, NodeList) and index < len(listed):
        return getattr(listed[index], "start", body.position_of(key))
    return body.position_of(key)


def _triggers(context: Context, entry: Entry[PipelineSpec]) -> list[Trigger]:
    if "trigger" not in entry.body:
        return []
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
                or context.connections_hint(),
            )
            continue
        raw = body[connection]
        raw_rules = raw if isinstance(raw, NodeList) else [raw]
        for index, rule in enumerate(rules):
            node = raw_rules[index] if index < len(raw_rules) else rule
            where = getattr(node, "start", body.position_of(connection))
            what = f"trigger {index + 1} on '{connection}' of pipeline '{entry.spec.name}'"
            trigger = _trigger(context, connection, node, what, where)
            if trigger is not None:
                triggers.append(trigger)
    return triggers


def _trigger(
    context: Context, connection: str, rule: Any, what: str, where: Position
) -> Trigger | None:
    """One rule, checked and built by the timer or by the connection's driver."""
    if connection == TIMER:
        timer = validate(TimerTriggerSpec, rule, context.issues, what, where)
        if timer is None:
            return None
        return TimerTrigger(cron=timer.time, branches=tuple(dict.fromkeys(timer.branches or ())))
    driver = context.drivers[connection]
    spec = validate(driver.trigger_spec, rule, context.issues, what, where)
    if spec is None:
        return None
    built = driver.trigger(spec, TriggerContext(connection, context.ci.run_name))
    # The model's Trigger names Gerrit's and the timer's, the ones the engine matches:
    # a trigger of another driver passes through config/ as its driver built it.
    return cast(Trigger, built)


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
                did_you_mean(connection, context.connections) or context.connections_hint(),
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
