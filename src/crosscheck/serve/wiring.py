"""`crosscheck serve`'s parts and how they connect: the Gerrit event sources feed the
intake, the intake the scheduler, the scheduler the executor and the report queues
(Gerrit reviews; job results to a results service); the web app (web_app.py) serves
them. Nothing here runs yet: lifecycle.py starts and stops the parts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.live import LiveConfig
from crosscheck.config.secrets import (
    SecretError,
    admin_token,
    all_readable,
    http_password,
    results_token,
)
from crosscheck.console.hub import ConsoleHub
from crosscheck.drivers.base import Reporter
from crosscheck.drivers.gerrit.changes import GerritChanges
from crosscheck.drivers.gerrit.projects import GerritProjects
from crosscheck.drivers.gerrit.reporter import GerritReporter
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.source import GerritEventSource
from crosscheck.drivers.gerrit.watch import ChangeWatch
from crosscheck.drivers.git.remote import GitRemote
from crosscheck.drivers.results.reporter import ResultsReporter
from crosscheck.drivers.timer import TimerEventSource
from crosscheck.events.intake import EventIntake
from crosscheck.executor.pool import NodePool
from crosscheck.executor.settings import (
    ResolvedSettings,
    executor_from_config,
    local_confinement,
    resolve,
)
from crosscheck.metrics import gerrit_reads_spared
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.report import RESULTS_SERVICE
from crosscheck.paths import state_dir
from crosscheck.promotion.candidates import CandidateMaker
from crosscheck.promotion.engine import PromotionEngine
from crosscheck.promotion.publisher import Publisher, manifests_dir
from crosscheck.promotion.snapshots import Snapshots
from crosscheck.promotion.versions import scenario_refs
from crosscheck.reports.queue import ReportQueue
from crosscheck.results.accounts import Accounts
from crosscheck.results.merges import recording_merges
from crosscheck.results.own_account import TOKEN_FILE, own_token
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.serve.web_app import web_app
from crosscheck.store import open_store, sqlite_files

log = logging.getLogger(__name__)


@dataclass
class ServeOptions:
    config_paths: list[Path]
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    #: The address users reach the web server at, for links in reports.
    public_url: str | None = None

    @property
    def own_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass
class Service:
    """The running parts, kept for tests and for `status`."""

    live: LiveConfig
    engine: AsyncEngine
    scheduler: Scheduler
    reports: ReportQueue
    sources: dict[str, GerritEventSource]
    app: FastAPI
    executor_settings: ResolvedSettings
    timer: TimerEventSource
    rest: dict[str, GerritRestClient] = field(default_factory=dict)
    #: Job results to a results service; None when they are reported nowhere.
    results: ReportQueue | None = None
    results_reporter: ResultsReporter | None = None
    promotion: PromotionEngine | None = None
    publisher: Publisher | None = None
    snapshots: Snapshots | None = None
    #: Every build's node: this host's slots, the SSH nodes and PODs.
    nodes: NodePool | None = None


def rest_client(connection: GerritConnection) -> GerritRestClient:
    return GerritRestClient(connection.http_url, connection.user, http_password(connection))


async def build_service(options: ServeOptions) -> Service:
    live = LiveConfig(options.config_paths)
    config = live.current
    all_readable(config)  # before the store and the CI account's token are made
    executor_settings = resolve(config.executor)
    store_files = sqlite_files(options.database_url)
    # `confine: bubblewrap` without bubblewrap stops serve before it makes its store.
    confined = local_confinement(config, executor_settings, store_files, lambda: live.current)
    engine = await open_store(options.database_url)
    rest = {name: rest_client(c) for name, c in config.connections.items()}
    # What each stream said of its changes spares the planning's read of a fresh upload.
    watches = {name: ChangeWatch() for name in config.connections}
    for name in watches:  # shown at 0 before the first, as the other counters
        gerrit_reads_spared.labels(name, "planning")
    reporters: dict[str, Reporter] = {
        name: GerritReporter(c, rest[name]) for name, c in config.connections.items()
    }

    def give_up_after() -> float:
        return live.current.ci.report_give_up_after

    reports = ReportQueue(engine, reporters, give_up_after=give_up_after)
    target = await results_target(config, engine, options.own_url)
    results_reporter = ResultsReporter(*target) if target is not None else None
    held_secrets = [target.token] if target is not None else []  # the token, masked in logs
    results = _results_queue(engine, results_reporter, give_up_after)
    # Console lines wake the followers of live consoles in the web app.
    console_hub = ConsoleHub()
    executor = executor_from_config(
        config,
        held_secrets,
        executor_settings,
        engine,
        console_hub=console_hub,
        current=lambda: live.current,
        confined=confined,
    )
    nodes = executor.provider if isinstance(executor.provider, NodePool) else None
    if nodes is not None:  # nodes and PODs follow the configuration's reloads
        live.on_change = lambda reloaded: nodes.reconfigure(reloaded.lab)
    projects = {name: GerritProjects(client) for name, client in rest.items()}
    scheduler = Scheduler(
        engine,
        lambda: live.current,
        executor=executor,
        reports=reports,
        connections=config.connections,
        changes={
            name: GerritChanges(rest[name], c, watches[name])
            for name, c in config.connections.items()
        },
        logs_url=f"{options.own_url}/logs",
        results=results,
        # A scenario job while its scenario has no candidate: the components' refs.
        scenario_refs=scenario_refs(projects, GitRemote()),
    )
    # A results service served here learns merges from the stream (the health table's votes).
    sink = recording_merges(scheduler.accept) if config.results.serve else scheduler.accept
    # A merge on a scenario's component makes its next candidate, in the same transaction.
    candidates = CandidateMaker(
        engine,
        lambda: live.current.scenarios,
        projects,
        GitRemote(),
        pipelines=lambda: live.current.pipelines,
    )
    # No wake-up per event: the items an event enqueues or ends wake the scheduler as
    # they commit (its transitions), and most events (a change's refs, the CI's own
    # comments) enqueue nothing, which was a whole pass of queries each.
    intake = EventIntake(engine, candidates.making_candidates(sink))
    sources = {
        # A Gerrit back from an outage gets its waiting votes now, not after their back-off,
        # and the items waiting for it are planned at the next pass.
        name: GerritEventSource(
            c, intake, rest[name], on_back=_retry_now(reports, name, scheduler), watch=watches[name]
        )
        for name, c in config.connections.items()
    }
    publisher = Publisher(
        engine,
        lambda: live.current.scenarios,
        projects,
        manifests_dir(),
    )
    promotion = PromotionEngine(
        engine,
        lambda: live.current.scenarios,
        on_publication=publisher.wake,
        pipelines=lambda: live.current.pipelines,
        on_enqueued=scheduler.wake,
    )
    app = web_app(
        config,
        engine,
        sources,
        executor_settings.logs_root,
        lambda: admin_token(live.current.ci),
        current_config=lambda: live.current,
        # verify-status by number on a change no result named yet (Buildbot's first
        # report) is looked up on Gerrit: the first connection's, as the CI account.
        lookup=next(iter(rest.values()), None),
        scheduler=scheduler,
        promotion=promotion,
        console_hub=console_hub,
        nodes=nodes,
        public_url=options.public_url,
    )
    timer = TimerEventSource(intake, lambda: live.current, projects)
    snapshots = Snapshots(candidates, intake, lambda: live.current.scenarios)
    # Both sleep until their next scheduled time: a reload may bring an earlier one.
    live.subscribe(lambda _: timer.wake())
    live.subscribe(lambda _: snapshots.wake())
    return Service(
        live,
        engine,
        scheduler,
        reports,
        sources,
        app,
        executor_settings,
        timer,
        rest,
        results,
        results_reporter,
        promotion,
        publisher,
        snapshots,
        nodes,
    )


def _results_queue(
    engine: AsyncEngine, reporter: ResultsReporter | None, give_up_after: Callable[[], float]
) -> ReportQueue | None:
    """Job results' own queue, so a slow or absent results service never delays a vote."""
    if reporter is None:
        return None
    return ReportQueue(engine, {RESULTS_SERVICE: reporter}, workers=1, give_up_after=give_up_after)


class ResultsTarget(NamedTuple):
    """Where serve reports job results, and as whom."""

    url: str
    account: str
    token: str


async def results_target(config: Config, engine: AsyncEngine, own_url: str) -> ResultsTarget | None:
    """Where to report job results to, or None for nowhere.

    Reporting to the embedded service, serve makes sure its CI account exists and,
    unless a token is configured, keeps a token of its own in the state directory.
    """
    settings = config.results
    url = settings.report_url(own_url)
    if url is None:
        return None
    token = results_token(settings)
    if settings.reports_to_itself:
        token = await own_token(
            Accounts(engine),
            settings.account,
            state_dir() / TOKEN_FILE,
            configured=token,
            info_url=config.ci.info_url or "",
        )
    if token is None:  # the configuration checker requires a token with a url
        raise SecretError("reporting results to a url needs token_env or token_file")
    log.info("results: reporting job results to %s as CI account %r", url, settings.account)
    return ResultsTarget(url, settings.account, token)


def _retry_now(reports: ReportQueue, destination: str, scheduler: Scheduler) -> Callable[[], None]:
    def back() -> None:
        reports.retry_now(destination)
        scheduler.replans.now()
        scheduler.wake()

    return back
