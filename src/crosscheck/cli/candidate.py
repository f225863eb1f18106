"""`crosscheck candidate create`: a candidate of a scenario's versions now, pins applied."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from crosscheck.cli.options import config_option, database_option
from crosscheck.cli.scenarios import configured_config
from crosscheck.drivers.gerrit.projects import GerritProjects
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.git.remote import GitRemote
from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.promotion.candidates import CandidateMaker
from crosscheck.serve.wiring import rest_client
from crosscheck.store.engine import open_existing_store


@click.group()
def candidate() -> None:
    """Promotion candidates: one set of a scenario's component versions (docs/promotion.md)."""


def parse_pins(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    pins: dict[str, str] = {}
    for value in values:
        key, sep, ref = value.partition("=")
        if not sep or not key or not ref:
            raise click.BadParameter(
                f"{value!r}: write COMPONENT=REF (a component or its project, and a branch, "
                "a tag or a full commit id), e.g. --pin nova=stable/2024.1"
            )
        if key in pins:
            raise click.BadParameter(f"{key} is pinned twice")
        pins[key] = ref
    return pins


@candidate.command()
@click.option("--scenario", "scenario_name", required=True, help="The scenario's name.")
@click.option(
    "--pin",
    "pins",
    multiple=True,
    callback=parse_pins,
    metavar="COMPONENT=REF",
    help="Take COMPONENT (or project) at REF: a branch, a tag or a commit id (repeatable).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Take pinned commit ids as given, asking no server whether they exist.",
)
@config_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def create(
    scenario_name: str,
    pins: dict[str, str],
    offline: bool,
    config_paths: tuple[Path, ...],
    database: str | None,
    as_json: bool,
) -> None:
    """Record a candidate of SCENARIO: each component at its branch tip, tag or SHA as
    configured, or at its pin (a pinned commit must exist on its Gerrit). The same
    versions twice are one candidate."""
    config = configured_config(config_paths)
    record, new = asyncio.run(_create(config, database, scenario_name, pins, verify=not offline))
    if as_json:
        click.echo(json.dumps(_as_data(record, new), indent=2))
        return
    said = "recorded" if new else "already recorded"
    click.echo(f"candidate {record.id} of {record.candidate.scenario} ({said})")
    for name, sha in record.candidate.versions.items():
        click.echo(f"  {name} {sha}")


class OnDemandGerrit:
    """A connection's RefSource whose client (and its password) is made at first use:
    versions given in full, or pinned in the configuration, need no server."""

    def __init__(self, connection: GerritConnection) -> None:
        self.connection = connection
        self.client: GerritRestClient | None = None

    async def commit_of(self, project: str, kind: str, ref: str) -> str:
        return await GerritProjects(self._client()).commit_of(project, kind, ref)

    async def has_commit(self, project: str, sha: str) -> bool:
        return await GerritProjects(self._client()).has_commit(project, sha)

    async def create_tag(self, project: str, name: str, sha: str, message: str) -> None:
        await GerritProjects(self._client()).create_tag(project, name, sha, message)

    def _client(self) -> GerritRestClient:
        if self.client is None:
            self.client = rest_client(self.connection)
        return self.client

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def on_demand_sources(config: Config) -> dict[str, OnDemandGerrit]:
    """Each connection's refs and tags, its client made at first use."""
    return {name: OnDemandGerrit(c) for name, c in config.connections.items()}


async def _create(
    config: Config, database: str | None, scenario: str, pins: dict[str, str], *, verify: bool
) -> tuple[CandidateRecord, bool]:
    engine = await open_existing_store(database, needs="candidate_results")
    sources = on_demand_sources(config)
    try:
        maker = CandidateMaker(engine, lambda: config.scenarios, sources, GitRemote())
        return await maker.create(scenario, pins, verify=verify)
    finally:
        for source in sources.values():
            await source.aclose()
        await engine.dispose()


def _as_data(record: CandidateRecord, new: bool) -> dict[str, object]:
    return {
        "id": record.id,
        "scenario": record.candidate.scenario,
        "versions": dict(record.candidate.versions),
        "origin": record.origin,
        "created_at": record.created_at.isoformat(),
        "new": new,
    }
