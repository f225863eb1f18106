"""`crosscheck run`'s item context: the Depends-On changes and scenario versions serve
would plan for the change, so a local run builds what serve builds and reports."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.secrets import http_password
from crosscheck.drivers.base import DriverError, FoundPatchset
from crosscheck.drivers.gerrit.changes import fetch_patchset
from crosscheck.drivers.gerrit.projects import GerritProjects
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.git.remote import GitRemote
from crosscheck.errors import CrosscheckError
from crosscheck.model.config import Config
from crosscheck.model.events import Event
from crosscheck.model.item_context import ItemContext, change_label
from crosscheck.model.job import Job
from crosscheck.promotion.versions import scenario_refs
from crosscheck.scheduler.context_plan import ContextPlanner
from crosscheck.scheduler.message import applied_changes, scenario_line
from crosscheck.store.engine import open_existing_store

log = logging.getLogger(__name__)


async def plan_context(config: Config, job: Job, event: Event, database: str | None) -> ItemContext:
    """The context serve would plan; a dependency problem stops the run with its reason."""
    changes = _Changes(config)
    try:
        async with _candidates_store(job, database) as engine:
            planner = ContextPlanner(
                engine,
                lambda: config.scenarios,
                changes.current,
                lambda: {name: c.http_url for name, c in config.connections.items()},
                scenario_refs(changes.projects(), GitRemote()),
            )
            context = await planner.plan(event, [job])
    except CrosscheckError as error:
        raise click.ClickException(f"the change cannot be built as serve would: {error}") from error
    finally:
        await changes.aclose()
    _say(context, event)
    return context


class _Changes:
    """Each connection's REST client, for the run's lookups."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.clients = {
            name: GerritRestClient(c.http_url, c.user, http_password(c))
            for name, c in config.connections.items()
        }

    async def current(self, connection: str, number: int) -> FoundPatchset:
        if connection not in self.clients:
            raise DriverError(f"no connection {connection!r}")
        found = self.config.connections[connection]
        return await fetch_patchset(self.clients[connection], found, number)

    def projects(self) -> dict[str, GerritProjects]:
        return {name: GerritProjects(client) for name, client in self.clients.items()}

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


@contextlib.asynccontextmanager
async def _candidates_store(job: Job, database: str | None) -> AsyncIterator[AsyncEngine | None]:
    """serve's store, for the candidates a scenario job takes; None without one (the
    components are then at their configured refs, as serve would take them)."""
    if job.scenario is None:
        yield None
        return
    try:
        engine = await open_existing_store(database, needs="candidates")
    except CrosscheckError as error:
        log.warning("no candidates to take (%s): components at their configured refs", error)
        yield None
        return
    try:
        yield engine
    finally:
        await engine.dispose()


def _say(context: ItemContext, event: Event) -> None:
    change, patchset = event.change, event.patchset
    own = (
        change_label(event.connection, change.number, patchset.number)
        if change and patchset
        else None
    )
    project = change.project if change else ""
    applied = applied_changes(event.connection, project, own, context.dependencies)
    for dependency in context.dependencies:
        click.echo(
            f"depends on {dependency.label} ({dependency.url}, {dependency.status})", err=True
        )
    for versions in context.scenarios:
        click.echo(scenario_line(versions, applied), err=True)
