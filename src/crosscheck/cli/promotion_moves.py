"""`crosscheck promotion demote | rollback`: an operator moves a level's pointer back.

Both write to serve's store directly (an operator with the store's access is trusted
as serve is), each with a reason kept in the level's history beside the candidate it
replaced. The rules never undo an operator's move: a candidate promoted to the level
once is never promoted there again; a newer one that passes is.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime
from pathlib import Path

import click

from crosscheck.cli.options import config_option, database_option
from crosscheck.cli.promotion_explain import ExplainRefusedError, scenario_named
from crosscheck.cli.scenarios import configured_scenarios
from crosscheck.model.promotion import PromotionRecord
from crosscheck.model.scenario import Scenario
from crosscheck.promotion.explain import ExplainError, find_candidate
from crosscheck.promotion.publisher import manifests_dir, ring
from crosscheck.store import promotion as store
from crosscheck.store import publications
from crosscheck.store.engine import open_existing_store

reason_option = click.option(
    "--reason", required=True, help="Why: kept in the level's history for everyone to read."
)
by_option = click.option(
    "--by", default=None, help="Who moves it [default: the user running the command]."
)


@click.command()
@click.argument("scenario_name", metavar="SCENARIO")
@click.argument("level_name", metavar="LEVEL")
@click.option("--to", "to", metavar="CANDIDATE", help="The candidate the level holds next.")
@click.option("--clear", is_flag=True, help="The level holds no candidate next.")
@reason_option
@by_option
@config_option
@database_option
def demote(
    scenario_name: str,
    level_name: str,
    to: str | None,
    clear: bool,
    reason: str,
    by: str | None,
    config_paths: tuple[Path, ...],
    database: str | None,
) -> None:
    """Move LEVEL to another candidate (--to, any of the scenario's), or clear it."""
    if (to is None) == (not clear):
        raise click.UsageError("give --to CANDIDATE or --clear, one of the two")
    scenario = _level_of(config_paths, scenario_name, level_name)
    record = asyncio.run(
        _move(database, scenario, level_name, to, reason=reason, by=by or getpass.getuser())
    )
    click.echo(_said(record))


@click.command()
@click.argument("scenario_name", metavar="SCENARIO")
@click.argument("level_name", metavar="LEVEL")
@reason_option
@by_option
@config_option
@database_option
def rollback(
    scenario_name: str,
    level_name: str,
    reason: str,
    by: str | None,
    config_paths: tuple[Path, ...],
    database: str | None,
) -> None:
    """Move LEVEL back to the candidate it held before its last move."""
    scenario = _level_of(config_paths, scenario_name, level_name)
    record = asyncio.run(
        _move(database, scenario, level_name, None, reason=reason, by=by or getpass.getuser(),
              back=True)
    )  # fmt: skip
    click.echo(_said(record))


def _level_of(config_paths: tuple[Path, ...], scenario_name: str, level: str) -> Scenario:
    scenario = scenario_named(configured_scenarios(config_paths), scenario_name)
    if level not in {lv.name for lv in scenario.levels}:
        names = ", ".join(lv.name for lv in scenario.levels)
        raise ExplainRefusedError(f"{scenario.name} has no level {level!r} (levels: {names})")
    return scenario


async def _move(
    database: str | None,
    scenario: Scenario,
    level: str,
    to: str | None,
    *,
    reason: str,
    by: str,
    back: bool = False,
) -> PromotionRecord:
    engine = await open_existing_store(database, needs="candidate_results")
    now = datetime.now(UTC)
    try:
        async with engine.begin() as db:
            if back:
                moved = await store.rollback(db, scenario.name, level, by=by, reason=reason, at=now)
            else:
                target = (await find_candidate(db, scenario.name, to)).id if to else None
                moved = await store.demote(
                    db, scenario.name, level, target, by=by, reason=reason, at=now
                )
            rule = scenario.level(level).publish
            publishing = rule is not None and bool(rule.manifest or rule.webhook)
            if publishing:
                # serve's publisher rewrites the level's manifest and calls the webhook.
                await publications.add_publication(db, moved.id, now)
        if publishing:  # committed: serve's publisher sleeps until told
            ring(manifests_dir())
        return moved
    except (ExplainError, LookupError, ValueError) as error:
        raise ExplainRefusedError(_unquoted(error)) from error
    finally:
        await engine.dispose()


def _unquoted(error: Exception) -> str:
    """A KeyError's message comes quoted; the others' as written."""
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


def _said(record: PromotionRecord) -> str:
    where = record.candidate[:12] if record.candidate else "no candidate"
    before = record.previous[:12] if record.previous else "no candidate"
    return (
        f"{record.scenario} {record.level}: {record.kind.value} to {where} (held {before}) "
        f"by {record.by}: {record.reason}"
    )
