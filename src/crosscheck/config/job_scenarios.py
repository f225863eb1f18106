"""Once scenarios are built: a job run in a scenario names one, and one of its levels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crosscheck.config.context import Context, Entry
from crosscheck.config.scenario_hints import level_hint, scenario_hint
from crosscheck.config.schema import JobSpec
from crosscheck.model.job import Job


def check_job_scenarios(context: Context, entries: Sequence[Entry[JobSpec]]) -> None:
    for entry in entries:
        wanted = entry.spec.scenario
        if wanted is None:
            continue
        body: Any = entry.body["scenario"]
        # `scenario: NAME` is a plain scalar: its own position is the one to show.
        where = body.position_of if hasattr(body, "position_of") else None
        what = f"job '{entry.spec.name}'"
        scenario = context.scenarios.get(wanted.name)
        if scenario is None:
            if not context.is_broken("scenario", wanted.name):
                context.issues.error(
                    f"{what} runs in unknown scenario '{wanted.name}'",
                    where("name") if where else entry.body.position_of("scenario"),
                    scenario_hint(context, wanted.name),
                )
            continue
        if wanted.level is not None and wanted.level not in {lv.name for lv in scenario.levels}:
            context.issues.error(
                f"{what} runs in scenario '{scenario.name}' at unknown level '{wanted.level}'",
                where("level") if where else entry.body.position_of("scenario"),
                level_hint(scenario, wanted.level),
            )


def job_scenario_warnings(context: Context, jobs: Mapping[str, Job]) -> None:
    """A job in a scenario gets the scenario's components, not its required projects."""
    for job in jobs.values():
        if job.scenario is None or not job.required_projects or job.abstract:
            continue
        names = ", ".join(rp.name for rp in job.required_projects)
        context.issues.warning(
            f"job '{job.name}' runs in scenario '{job.scenario.name}': its required projects "
            f"({names}) are not checked out, the scenario's components are",
            context.position_of("job", job.name),
            f"make them components of scenario '{job.scenario.name}', or remove them",
        )
