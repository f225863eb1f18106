"""`crosscheck promotion status`: each scenario's levels and the candidate each holds.

It reads the configuration (which scenarios and levels exist) and the store serve
writes to (which candidate each level's pointer holds; never creating nor migrating
it), so it answers whether serve runs or not. A level no candidate reached yet shows as waiting.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from crosscheck.cli.options import config_option, database_option
from crosscheck.cli.promotion_approve import approve
from crosscheck.cli.promotion_explain import explain_command
from crosscheck.cli.promotion_moves import demote, rollback
from crosscheck.cli.scenarios import configured_scenarios
from crosscheck.model.promotion import LevelPointer
from crosscheck.model.scenario import Scenario
from crosscheck.store import promotion as promotion_store
from crosscheck.store.engine import open_existing_store

#: A scenario's pointers: level name -> pointer, for the levels that hold a candidate.
Pointers = dict[str, dict[str, LevelPointer]]


@click.group()
def promotion() -> None:
    """Promotion of candidates through a scenario's levels (docs/promotion.md)."""


promotion.add_command(explain_command)
promotion.add_command(approve)
promotion.add_command(demote)
promotion.add_command(rollback)


@promotion.command()
@config_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def status(config_paths: tuple[Path, ...], database: str | None, as_json: bool) -> None:
    """Scenarios x levels: the candidate each level holds, and since when."""
    scenarios = configured_scenarios(config_paths)
    if not scenarios and not as_json:
        click.echo("no scenario is configured (see docs/promotion.md)")
        return
    pointers = asyncio.run(_read(database, scenarios)) if scenarios else {}
    if as_json:
        click.echo(json.dumps(_as_data(scenarios, pointers), indent=2))
        return
    width = None if sys.stdout.isatty() else 240
    Console(width=width).print(_table(scenarios, pointers, datetime.now(UTC)))


async def _read(database: str | None, scenarios: list[Scenario]) -> Pointers:
    engine = await open_existing_store(database, needs="level_pointers")
    try:
        async with engine.connect() as db:
            return {s.name: await promotion_store.pointers(db, s.name) for s in scenarios}
    finally:
        await engine.dispose()


def _table(scenarios: list[Scenario], pointers: Pointers, now: datetime) -> Table:
    depth = max(len(s.levels) for s in scenarios)
    table = Table("scenario", *(f"level {n + 1}" for n in range(depth)))
    for scenario in scenarios:
        held = pointers.get(scenario.name, {})
        cells = [_cell(level.name, held.get(level.name), now) for level in scenario.levels]
        table.add_row(scenario.name, *cells)
    return table


def _cell(level: str, pointer: LevelPointer | None, now: datetime) -> str:
    if pointer is None:
        return f"{level}: no candidate yet"
    return f"{level}: {pointer.candidate[:12]} ({_age(now - pointer.moved_at)} ago)"


def _age(span: timedelta) -> str:
    """The largest whole unit only: a board is read at a glance, unlike a build's time."""
    seconds = max(0, int(span.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _as_data(scenarios: list[Scenario], pointers: Pointers) -> dict[str, object]:
    return {
        "scenarios": [
            {
                "name": s.name,
                "levels": [
                    _level_data(level.name, pointers[s.name].get(level.name)) for level in s.levels
                ],
            }
            for s in scenarios
        ]
    }


def _level_data(level: str, pointer: LevelPointer | None) -> dict[str, object]:
    if pointer is None:
        return {"level": level, "candidate": None, "moved_at": None}
    return {
        "level": level,
        "candidate": pointer.candidate,
        "moved_at": pointer.moved_at.isoformat(),
        "generation": pointer.generation,
    }
