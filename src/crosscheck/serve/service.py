"""`crosscheck serve`: every part of a third-party CI in one asyncio process.

The composition root: it reads the configuration and wires the Gerrit event
sources into the intake, the intake into the scheduler, the scheduler into the
executor and the report queues (Gerrit reviews; job results to a results
service), and serves the web routes with uvicorn: webhooks, build logs under
/logs/, the operator API (status, enqueue, dequeue), and the results service
(its API, the verify-status routes and the pages) on the same store, with an
access log and /metrics. Log pruning runs beside them. Nothing else imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck import __version__
from crosscheck.config.live import LiveConfig
from crosscheck.config.secrets import (
    SecretError,
    TokenSource,
    admin_token,
    http_password,
    results_token,
    webhook_token,
)
from crosscheck.drivers.base import Reporter
from crosscheck.drivers.gerrit.changes import GerritChanges
from crosscheck.drivers.gerrit.projects import GerritProjects
from crosscheck.drivers.gerrit.reporter import GerritReporter
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.source import GerritEventSource
from crosscheck.drivers.gerrit.webhook import webhook_router
from crosscheck.drivers.results.reporter import ResultsReporter
from crosscheck.drivers.timer import TimerEventSource
from crosscheck.events.intake import EventIntake
from crosscheck.executor.settings import ResolvedSettings, executor_from_config, resolve
from crosscheck.http.access_log import AccessLog
from crosscheck.http.errors import install_error_handlers
from crosscheck.http.metrics_endpoint import metrics_router
from crosscheck.http.sockets import listen
from crosscheck.logs import logs_router, prune_periodically
from crosscheck.model.config import Config
from crosscheck.model.connection import GerritConnection
from crosscheck.model.report import RESULTS_SERVICE
from crosscheck.operator.router import operator_router
from crosscheck.paths import state_dir
from crosscheck.reports.queue import ReportQueue
from crosscheck.results.accounts import Accounts
from crosscheck.results.app import results_routers
from crosscheck.results.merges import recording_merges
from crosscheck.results.own_account import TOKEN_FILE, own_token
from crosscheck.results.ratelimit import RateLimiter
from crosscheck.results.resolver import resolver_for
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import settings_from_config
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.serve.queue_depths import QueueDepths
from crosscheck.store import open_store

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


def rest_client(connection: GerritConnection) -> GerritRestClient:
    return GerritRestClient(connection.http_url, connection.user, http_password(connection))


async def build_service(options: ServeOptions) -> Service:
    live = LiveConfig(options.config_paths)
    config = live.current
    engine = await open_store(options.database_url)
    rest = {name: rest_client(c) for name, c in config.connections.items()}
    reporters: dict[str, Reporter] = {
        name: GerritReporter(c, rest[name]) for name, c in config.connections.items()
    }

    def give_up_after() -> float:
        return live.current.ci.report_give_up_after

    reports = ReportQueue(engine, reporters, give_up_after=give_up_after)
    target = await results_target(config, engine, options.own_url)
    results_reporter = ResultsReporter(*target) if target is not None else None
    held_secrets = [target.token] if target is not None else []  # the token, masked in logs
    results = (
        ReportQueue(
            engine, {RESULTS_SERVICE: results_reporter}, workers=1, give_up_after=give_up_after
        )
        if results_reporter is not None
        else None
    )
    executor_settings = resolve(config.executor)
    scheduler = Scheduler(
        engine,
        lambda: live.current,
        executor=executor_from_config(config, held_secrets, executor_settings),
        reports=reports,
        connections=config.connections,
        changes={name: GerritChanges(rest[name], c) for name, c in config.connections.items()},
        logs_url=f"{options.own_url}/logs",
        results=results,
    )
    # A results service served here learns merges from the stream (the health table's votes).
    sink = recording_merges(scheduler.accept) if config.results.serve else scheduler.accept
    intake = EventIntake(engine, sink, on_committed=scheduler.wake)
    sources = {
        name: GerritEventSource(c, intake, rest[name]) for name, c in config.connections.items()
    }
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
    )
    app.include_router(operator_router(scheduler))
    projects = {name: GerritProjects(client) for name, client in rest.items()}
    timer = TimerEventSource(intake, lambda: live.current, projects)
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
    )


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


#: A webhook's URL holds its token (Gerrit's plugin can send no header): masked in the
#: access log.
WEBHOOK_TOKEN_PATH = re.compile(r"^(/webhooks/gerrit/[^/]+/)[^/]+")
#: Any other path with a `webhook(s)` segment, in any case and with any slashes, is
#: masked whole after it: a plugin configured with a stray slash or a typo still sends
#: its token in the path (the route answers 404, and the log must not show it).
WEBHOOK_ODD_PATH = re.compile(r"(?i)^(?!/webhooks/gerrit/[^/]+/\*\*\*$)(.*?/webhooks?/).+$")
WEBHOOK_PATHS = (WEBHOOK_TOKEN_PATH, WEBHOOK_ODD_PATH)


def web_app(
    config: Config,
    engine: AsyncEngine,
    sources: Mapping[str, GerritEventSource],
    logs_root: Path,
    admin_token_source: TokenSource | None = None,
    *,
    current_config: Callable[[], Config] | None = None,
    lookup: GerritRestClient | None = None,
) -> FastAPI:
    """Webhooks, build logs, /metrics, and the results service when it is served here;
    errors answer `{"detail", "errors"}` (results/http_errors.py) whichever is mounted;
    every request is logged (access_log.py).

    The results service's admin token is read at each request from `admin_token_source`
    (by default the `ci` element of `config`), as the operator API reads its own.
    `current_config` (by default `config`) names the pipelines and connections whose
    queue depths /metrics shows at 0 when empty. `lookup` lets verify-status place a
    change no result named yet by asking that Gerrit.
    """
    app = FastAPI(
        title="crosscheck",
        version=__version__,
        description="A third-party CI for Gerrit: webhooks, build logs, CI results.",
    )
    app.add_middleware(AccessLog, secret_paths=WEBHOOK_PATHS)
    depths = QueueDepths(engine, current_config or (lambda: config))
    app.include_router(metrics_router(depths.refresh))
    app.include_router(webhook_router(sources, _webhook_tokens(config.connections.values())))
    app.include_router(logs_router(logs_root))
    if config.results.serve:
        limiter = RateLimiter(config.results.rate, config.results.burst)
        settings = settings_from_config(
            config.results, admin_token_source or (lambda: admin_token(config.ci))
        )
        service = ResultsService(engine, limiter=limiter, max_age=settings.max_result_age)
        for router in results_routers(service, settings, resolver_for(service, lookup)):
            app.include_router(router)
    # In every configuration, so the operator API's malformed requests are answered
    # alike, with the located `errors` its clients read.
    install_error_handlers(app)
    return app


def _webhook_tokens(connections: Iterable[GerritConnection]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for connection in connections:
        token = webhook_token(connection)
        if token:
            tokens[connection.name] = token
    return tokens


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: How long a stopping web server waits for open requests (a log download) to end.
GRACEFUL_SHUTDOWN_SECONDS = 5


class _WebServer(uvicorn.Server):
    """uvicorn, minus its own signal handling: a stop signal stops the whole service.
    uvicorn's would stop only the web server, then raise the signal again, ending
    the process before the builds were stopped."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _run_until_stopped(
    server: uvicorn.Server, sock: socket.socket, parts: list[Awaitable[None]]
) -> None:
    """Run the web server and the other parts until one fails or a stop signal comes,
    then stop every part and wait for each to end.

    SIGTERM and SIGINT stop the parts: the scheduler stops the running builds'
    processes (SIGTERM, kill_grace, SIGKILL), whose rows stay running so the next
    start runs them again. The web server finishes its requests and stops. A second
    signal ends the process at once.
    """
    web = asyncio.ensure_future(server.serve(sockets=[sock]))
    tasks = [asyncio.ensure_future(part) for part in parts]
    stopped_by = _stop_on_signals(server, tasks)
    try:
        await asyncio.wait([web, *tasks], return_when=asyncio.FIRST_EXCEPTION)
    finally:
        server.should_exit = True
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(web, *tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            raise outcome
    if stopped_by:
        log.warning("crosscheck stopped (%s)", stopped_by[0])


def _stop_on_signals(server: uvicorn.Server, tasks: list[asyncio.Task[None]]) -> list[str]:
    """Install the stop signals' handlers; the list they fill with the signal's name."""
    stopped_by: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        stopped_by.append(sig.name)
        log.warning(
            "%s: stopping; running builds are stopped, to run again at the next start "
            "(a second signal ends crosscheck at once)",
            sig.name,
        )
        for each in STOP_SIGNALS:  # the second one takes the default action: the end
            loop.remove_signal_handler(each)
            signal.signal(each, signal.SIG_DFL)
        server.should_exit = True
        for task in tasks:
            task.cancel()

    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    return stopped_by


async def serve(options: ServeOptions) -> None:
    """Run until a stop signal. The port is taken first: when it is in use,
    `ListenError` says so before anything is created (an account, a token, a database)."""
    with listen(options.host, options.port) as sock:
        await _serve_on(sock, options)


async def _serve_on(sock: socket.socket, options: ServeOptions) -> None:
    service = await build_service(options)
    server = _WebServer(
        uvicorn.Config(
            service.app,
            host=options.host,
            port=options.port,
            # uvicorn's records reach crosscheck's handler (cli/logs.py); its access
            # log is replaced by access_log.py's, which leaves out query strings.
            log_config=None,
            log_level=None,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    )
    service.live.reload_on_sighup(asyncio.get_running_loop())
    parts: list[Awaitable[None]] = [
        service.reports.run(),
        service.scheduler.run(),
        service.live.watch(),
        prune_periodically(
            service.executor_settings.logs_root, service.executor_settings.log_retention
        ),
        service.timer.run(),
        *(source.run() for source in service.sources.values()),
    ]
    if service.results is not None:
        parts.append(service.results.run())
    log.info(
        "crosscheck %s serving on http://%s:%d (links in reports: %s)",
        __version__,
        options.host,
        options.port,
        options.own_url,
    )
    try:
        await _run_until_stopped(server, sock, parts)
    finally:
        for client in service.rest.values():
            await client.aclose()
        if service.results_reporter is not None:
            await service.results_reporter.aclose()
        await service.engine.dispose()
