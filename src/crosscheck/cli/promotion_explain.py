"""`crosscheck promotion explain`: per criterion, what passed, what is missing, what failed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from crosscheck.cli.options import config_option, database_option
from crosscheck.cli.scenarios import configured_scenarios
from crosscheck.errors import CrosscheckError
from crosscheck.model.promotion import CriterionKind, CriterionState, CriterionVerdict
from crosscheck.model.scenario import Scenario
from crosscheck.promotion.explain import ExplainError, Explanation, explain
from crosscheck.store.engine import open_existing_store

MARKS = {
    CriterionState.PASSED: "passed ",
    CriterionState.MISSING: "missing",
    CriterionState.FAILED: "FAILED ",
}


class ExplainRefusedError(CrosscheckError):
    """What was named cannot be explained."""


@click.command("explain")
@click.argument("scenario_name", metavar="SCENARIO")
@click.argument("level_name", metavar="LEVEL")
@click.argument("candidate", required=False)
@config_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def explain_command(
    scenario_name: str,
    level_name: str,
    candidate: str | None,
    config_paths: tuple[Path, ...],
    database: str | None,
    as_json: bool,
) -> None:
    """Why CANDIDATE (default: the next to climb) is, or is not, promoted to LEVEL.

    The next to climb is the newest candidate for the first level, and the candidate
    the level below holds for the others. CANDIDATE may be an id's first 7+ digits.
    """
    scenario = scenario_named(configured_scenarios(config_paths), scenario_name)
    found = asyncio.run(_explain(database, scenario, level_name, candidate))
    if as_json:
        click.echo(json.dumps(as_data(found), indent=2))
    else:
        click.echo("\n".join(as_lines(found)))


def scenario_named(scenarios: list[Scenario], name: str) -> Scenario:
    for scenario in scenarios:
        if scenario.name == name:
            return scenario
    names = ", ".join(s.name for s in scenarios) or "none is configured"
    raise ExplainRefusedError(f"no scenario {name!r} (scenarios: {names})")


async def _explain(
    database: str | None, scenario: Scenario, level: str, candidate: str | None
) -> Explanation:
    engine = await open_existing_store(database, needs="candidate_results")
    try:
        async with engine.connect() as db:
            return await explain(db, scenario, level, candidate, datetime.now(UTC))
    except ExplainError as error:
        raise ExplainRefusedError(str(error)) from error
    finally:
        await engine.dispose()


def as_lines(found: Explanation) -> list[str]:
    title = f"{found.scenario} {found.level}"
    held = found.holds.candidate[:12] if found.holds is not None else "no candidate"
    if found.candidate is None or found.verdict is None:
        return [f"{title}: holds {held}; no candidate waits for it yet"]
    record = found.candidate
    lines = [
        f"{title}: candidate {record.id[:12]} ({record.origin}, "
        f"{record.created_at:%Y-%m-%d %H:%M} UTC); the level holds {held}"
    ]
    if found.promoted_at is not None:
        lines.append(f"  promoted to {found.level} at {found.promoted_at:%Y-%m-%d %H:%M:%S} UTC")
    else:
        waiting = sum(c.state is not CriterionState.PASSED for c in found.verdict.criteria)
        lines.append(
            "  promotable now"
            if not waiting
            else f"  not promotable: {waiting} criterion(s) not passed"
        )
    lines += [
        f"  {MARKS[c.state]}  {c.criterion}{_detail(c, found)}" for c in found.verdict.criteria
    ]
    versions = ", ".join(f"{name} {sha[:12]}" for name, sha in record.candidate.versions.items())
    lines.append(f"  versions: {versions}")
    return lines


def _detail(criterion: CriterionVerdict, found: Explanation) -> str:
    results = [found.results[i] for i in criterion.result_ids if i in found.results]
    if results:
        shown = ", ".join(
            f"{r.job} {r.value.value} by {r.account} (result {r.id}"
            + (f", {r.url})" if r.url else ")")
            for r in results
        )
        return f": {shown}"
    if criterion.approvers:
        return ": approved by " + ", ".join(criterion.approvers)
    if criterion.kind is CriterionKind.JOB and criterion.state is CriterionState.MISSING:
        return ": no passing result yet from " + ", ".join(found.accounts)
    return ""


def as_data(found: Explanation) -> dict[str, object]:
    verdict = found.verdict
    return {
        "scenario": found.scenario,
        "level": found.level,
        "holds": found.holds.candidate if found.holds is not None else None,
        "candidate": found.candidate.id if found.candidate is not None else None,
        "versions": dict(found.candidate.candidate.versions) if found.candidate else None,
        "promoted_at": found.promoted_at.isoformat() if found.promoted_at else None,
        "promotable": verdict.promotable if verdict is not None else False,
        "criteria": [
            {
                "criterion": c.criterion,
                "kind": c.kind.value,
                "state": c.state.value,
                "results": [
                    {
                        "id": r.id,
                        "job": r.job,
                        "account": r.account,
                        "value": r.value.value,
                        "url": r.url,
                        "reported_at": r.reported_at.isoformat(),
                    }
                    for i in c.result_ids
                    if (r := found.results.get(i)) is not None
                ],
                "approvers": list(c.approvers),
            }
            for c in (verdict.criteria if verdict is not None else ())
        ],
    }
