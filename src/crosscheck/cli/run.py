"""`crosscheck run JOB --change N[,P]`: one job on one change, here and now, never reported."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from crosscheck.cli.console import printer
from crosscheck.cli.options import change_option
from crosscheck.cli.run_context import plan_context
from crosscheck.cli.run_lab import lab_for_run
from crosscheck.config import load_config
from crosscheck.config.issues import did_you_mean
from crosscheck.config.secrets import http_password
from crosscheck.drivers.gerrit.changes import fetch_patchset, patchset_created
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.errors import ConfigInvalidError
from crosscheck.executor import Executor, executor_from_config, resolve
from crosscheck.executor.confinement import not_confined_because
from crosscheck.executor.pool import NodePool
from crosscheck.model.build import BuildOutcome, BuildRequest, BuildResult, format_duration
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event, Origin
from crosscheck.model.job import Job
from crosscheck.paths import default_config_paths

Outcome = TypeVar("Outcome")


@click.command("run")
@click.argument("job_name", metavar="JOB")
@change_option(required=True, patchset_default="the current one")
@click.option(
    "--config",
    "config_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Configuration file or directory (repeatable) "
    "[default: $CROSSCHECK_CONFIG, ./crosscheck.d, ./crosscheck.yaml].",
)
@click.option(
    "--connection",
    "connection_name",
    default=None,
    help="The Gerrit connection [default: the only one].",
)
@click.option(
    "--pipeline",
    default="run",
    show_default=True,
    help="Pipeline name the build is filed under (logs, CROSSCHECK_PIPELINE).",
)
@click.option(
    "--node",
    default=None,
    help="The SSH node or POD to run on, held first (`crosscheck nodes hold`), for a job "
    "whose label a node or POD provides.",
)
@click.option(
    "--database",
    default=None,
    metavar="URL",
    help="serve's store, where holds and candidates are [default: the one serve uses by default].",
)
def run(
    job_name: str,
    change: tuple[int, int | None],
    config_paths: tuple[Path, ...],
    connection_name: str | None,
    pipeline: str,
    node: str | None,
    database: str | None,
) -> None:
    """Run JOB on a change locally, streaming its console; nothing is reported to Gerrit.

    The change is merged onto its branch tip as a real build would be, with the
    changes its Depends-On footers name, and a job run in a scenario gets the versions
    serve would take (from serve's store, --database); the console and artifacts are
    kept in the configured logs directory. A job whose label SSH
    nodes or PODs provide runs on the one --node names, held first so that serve
    gives it no build meanwhile. Exits 0 when the build succeeds, 1 otherwise.
    """
    number, patchset = change
    config = _config(config_paths)
    job = _job(config, job_name)
    config = lab_for_run(config, job, node, database)
    connection = _connection(config, connection_name)
    try:
        outcome = asyncio.run(
            _stoppable(_run(config, job, connection, (number, patchset), pipeline, database))
        )
    except asyncio.CancelledError:
        click.echo("stopped by SIGTERM: the build was canceled", err=True)
        sys.exit(128 + signal.SIGTERM)
    logs = resolve(config.executor).logs_root / outcome.log_url
    click.echo(
        f"{outcome.result} in {format_duration(outcome.duration)}"
        + (f": {outcome.detail}" if outcome.detail else "")
        + f"\nlogs: {logs}",
        err=True,
    )
    sys.exit(0 if outcome.result is BuildResult.SUCCESS else 1)


def _config(paths: tuple[Path, ...]) -> Config:
    result = load_config(list(paths) or default_config_paths())
    if result.config is None:
        raise ConfigInvalidError(result.errors, result.unchecked)
    return result.config


def _job(config: Config, name: str) -> Job:
    job = config.jobs.get(name)
    if job is None:
        hint = did_you_mean(name, config.jobs)
        raise click.BadParameter(
            f"no job '{name}'" + (f"; {hint}" if hint else ""), param_hint="JOB"
        )
    if job.abstract:
        raise click.BadParameter(
            f"job '{name}' is abstract: run a job inheriting from it", param_hint="JOB"
        )
    return job


def _connection(config: Config, name: str | None) -> GerritConnection:
    names = sorted(config.connections)
    if name is not None:
        if name not in config.connections:
            hint = did_you_mean(name, names) or f"connections: {', '.join(names) or 'none'}"
            raise click.BadParameter(f"no connection '{name}'; {hint}", param_hint="--connection")
        return config.connections[name]
    if len(names) != 1:
        raise click.BadParameter(
            "the configuration has "
            + (
                f"connections {', '.join(names)}: choose one" if names else "no connection: add one"
            ),
            param_hint="--connection",
        )
    return config.connections[names[0]]


async def _stoppable(work: Coroutine[Any, Any, Outcome]) -> Outcome:
    """SIGTERM (a supervisor, `timeout`, `kill`) cancels the build as Ctrl-C does: its
    steps get their kill_grace and its console and build.json are finished, rather than
    this process dying under them."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    if task is None:  # not run as a task: nothing to cancel
        return await work
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await work
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def _run(
    config: Config,
    job: Job,
    connection: GerritConnection,
    change: tuple[int, int | None],
    pipeline: str,
    database: str | None,
) -> BuildOutcome:
    event = await fetch_event(connection, *change)
    request = BuildRequest(
        build_id=f"run-{uuid.uuid4().hex[:12]}",
        attempt=1,
        pipeline=pipeline,
        job=job,
        event=event,
        connection=connection,
        connections=config.connections,
        context=await plan_context(config, job, event, database),
    )
    executor = executor_from_config(config)
    _say_confinement(config, executor)
    # The change's output: what it would make a terminal do (retitle, clear, the
    # clipboard) is taken out, its colours kept on a terminal, as `crosscheck console`.
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    outcome = await executor.run(request, listeners=[printer(colour)])
    # A tidy-up of the mirror this run's fetch made due ends before the process does.
    await executor.mirrors.settled()
    return outcome


def _say_confinement(config: Config, executor: Executor) -> None:
    """Whether a build on this host runs confined, as serve says at its start."""
    pool = executor.provider
    if not isinstance(pool, NodePool) or not config.lab.local_labels:
        return
    if pool.local.confinement is not None:
        click.echo("local builds: confined by bubblewrap (docs/executor.md)", err=True)
    else:
        why = not_confined_because(config.executor.confine)
        click.echo(f"local builds: not confined ({why})", err=True)


async def fetch_event(connection: GerritConnection, number: int, patchset: int | None) -> Event:
    """A patchset-created event for the change as Gerrit's REST API describes it now."""
    password = http_password(connection)
    async with GerritRestClient(connection.http_url, connection.user, password) as rest:
        found = await fetch_patchset(rest, connection, number, patchset)
    return patchset_created(found.change, connection.name, found.patchset, Origin.CATCHUP)
