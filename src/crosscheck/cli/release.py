"""`crosscheck release create | list`: releases cut from the candidates that qualify."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path

import click
import yaml

from crosscheck.cli.candidate import on_demand_sources
from crosscheck.cli.options import config_option, database_option
from crosscheck.cli.promotion_explain import as_lines, scenario_named
from crosscheck.cli.scenarios import configured_config
from crosscheck.errors import CrosscheckError
from crosscheck.model.config import Config
from crosscheck.model.release import Release
from crosscheck.paths import state_dir
from crosscheck.promotion.releases import ReleaseRefusedError, ReleaseRequest, create_release
from crosscheck.store import releases as release_store
from crosscheck.store.engine import open_existing_store


class ReleaseError(CrosscheckError):
    """No release was cut; with the promotion's explanation when a candidate did not qualify."""


@click.group()
def release() -> None:
    """Releases: a candidate that qualified for a channel, tagged on Gerrit (docs/promotion.md)."""


@release.command()
@click.option("--scenario", "scenario_name", required=True, help="The scenario's name.")
@click.option("--channel", required=True, help="The release channel, e.g. developer or stable.")
@click.option("--name", help="The release's name [default: today's date, YYYY.MM.DD].")
@click.option(
    "--candidate", help="A candidate that reached the channel's level [default: the newest]."
)
@click.option(
    "--manifest-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the manifest goes [default: releases/SCENARIO in the state directory].",
)
@click.option("--by", default=None, help="Who cuts it [default: the user running the command].")
@config_option
@database_option
def create(
    scenario_name: str,
    channel: str,
    name: str | None,
    candidate: str | None,
    manifest_dir: Path | None,
    by: str | None,
    config_paths: tuple[Path, ...],
    database: str | None,
) -> None:
    """Cut a release of SCENARIO on CHANNEL: tag every component on Gerrit at the
    candidate's version, write the manifest (YAML and JSON) and record the release."""
    config = configured_config(config_paths)
    scenario = scenario_named(
        sorted(config.scenarios.values(), key=lambda s: s.name), scenario_name
    )
    request = ReleaseRequest(scenario, channel, by or getpass.getuser(), name, candidate)
    made = asyncio.run(_create(config, database, request))
    where = manifest_dir or state_dir() / "releases" / made.scenario
    written = write_manifest(made, where)
    click.echo(f"released {made.scenario} {made.channel} {made.name}: candidate {made.candidate}")
    for pin in made.components:
        tagged = pin.tag or "not tagged (not on Gerrit)"
        click.echo(f"  {pin.component} {pin.sha} {tagged}")
    click.echo("manifest: " + ", ".join(str(p) for p in written))


async def _create(config: Config, database: str | None, request: ReleaseRequest) -> Release:
    engine = await open_existing_store(database, needs="releases")
    sources = on_demand_sources(config)
    try:
        return await create_release(engine, request, sources)
    except ReleaseRefusedError as error:
        lines = [str(error)]
        if error.explanation is not None:
            lines += as_lines(error.explanation)
        raise ReleaseError("\n".join(lines)) from error
    finally:
        for source in sources.values():
            await source.aclose()
        await engine.dispose()


def write_manifest(made: Release, directory: Path) -> list[Path]:
    """`<name>.yaml` and `<name>.json` in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = made.manifest()
    as_yaml = directory / f"{made.name}.yaml"
    as_json = directory / f"{made.name}.json"
    as_yaml.write_text(yaml.safe_dump(manifest, sort_keys=False))
    as_json.write_text(json.dumps(manifest, indent=2) + "\n")
    return [as_yaml, as_json]


@release.command("list")
@click.option("--scenario", "scenario_name", required=True, help="The scenario's name.")
@config_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="The manifests, as one JSON list.")
def list_releases(
    scenario_name: str, config_paths: tuple[Path, ...], database: str | None, as_json: bool
) -> None:
    """The scenario's releases, newest first."""
    config = configured_config(config_paths)
    scenario_named(list(config.scenarios.values()), scenario_name)
    found = asyncio.run(_list(database, scenario_name))
    if as_json:
        click.echo(json.dumps([r.manifest() for r in found], indent=2))
        return
    if not found:
        click.echo(f"{scenario_name} has no release yet")
    for made in found:
        click.echo(
            f"{made.name}  {made.channel:<10} {made.candidate[:12]}  "
            f"{made.created_at:%Y-%m-%d %H:%M} UTC  by {made.by}"
        )


async def _list(database: str | None, scenario: str) -> list[Release]:
    engine = await open_existing_store(database, needs="releases")
    try:
        async with engine.connect() as db:
            return await release_store.scenario_releases(db, scenario)
    finally:
        await engine.dispose()
