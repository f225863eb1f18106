"""`crosscheck serve` running: the port taken first, the parts (wiring.py) started with
uvicorn serving the web app, and SIGTERM/SIGINT stopping every part gracefully.

A stop signal stops the running builds' processes (their rows stay running, so the
next start runs them again) and lets the web server finish its requests; a second
signal ends the process at once.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import signal
import socket
from collections.abc import Awaitable

import uvicorn

from crosscheck import __version__
from crosscheck.executor.confinement import not_confined_because
from crosscheck.http.sockets import listen
from crosscheck.logs import prune_periodically
from crosscheck.model.config import Config
from crosscheck.serve.memory import QuietTrim
from crosscheck.serve.web_server import STOP_SIGNALS, WebServer
from crosscheck.serve.wiring import ServeOptions, Service, build_service
from crosscheck.store.one_serve import postgres_held, sqlite_held

log = logging.getLogger(__name__)

#: How long a stopping web server waits for open requests (a log download) to end.
GRACEFUL_SHUTDOWN_SECONDS = 5


async def serve(options: ServeOptions) -> None:
    """Run until a stop signal. The port is taken first: when it is in use,
    `ListenError` says so before anything is created (an account, a token, a database)."""
    with listen(options.host, options.port) as sock, sqlite_held(options.database_url):
        await _serve_on(sock, options)


async def _serve_on(sock: socket.socket, options: ServeOptions) -> None:
    service = await build_service(options)
    server = WebServer(
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
    try:
        async with postgres_held(service.engine):
            parts = _parts(service)
            log.info(
                "crosscheck %s serving on http://%s:%d (links in reports: %s)",
                __version__,
                options.host,
                options.port,
                options.own_url,
            )
            confined = service.nodes is not None and service.nodes.local.confinement is not None
            _say_who_builds_locally(service.live.start, confined=confined)
            await _run_until_stopped(server, sock, parts)
    finally:
        for client in service.rest.values():
            await client.aclose()
        if service.results_reporter is not None:
            await service.results_reporter.aclose()
        await service.engine.dispose()


def _say_who_builds_locally(config: Config, *, confined: bool) -> None:
    """Builds on this host's own slots run as this process's user: an operator learns at
    start whether bubblewrap confines them, and what it means when it does not, not
    from an attacker (docs/executor.md)."""
    labels = sorted(config.lab.local_labels)
    if not labels:
        return
    if confined:
        root = os.getuid() == 0
        log.log(
            logging.WARNING if root else logging.INFO,
            "builds of label(s) %s run on this host as %s, confined by bubblewrap: the "
            "file system read-only but for their work directory; crosscheck's state, "
            "logs, secrets, other builds and its user's home hidden; their processes "
            "alone in /proc%s",
            ", ".join(labels),
            _user(),
            "; but as root they read every file root may read (~/.ssh, /etc/shadow): run "
            "serve as a user of its own"
            if root
            else "",
        )
        return
    log.warning(
        "builds of label(s) %s run on this host as this service's own user %s, not "
        "confined (%s): they can read what it reads (its credentials) and write its git "
        "mirrors, so a change's build could alter what the next one builds on; run changes "
        "you do not trust confined, or on SSH nodes (docs/nodes.md)",
        ", ".join(labels),
        _user(),
        not_confined_because(config.executor.confine),
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's, say)
        return f"uid {os.getuid()}"


def _parts(service: Service) -> list[Awaitable[None]]:
    """Every part that runs beside the web server, until it is cancelled."""
    trim = QuietTrim()
    service.scheduler.transitions.subscribe(trim.moved)
    parts: list[Awaitable[None]] = [
        trim.run(),
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
    if service.promotion is not None:
        parts.append(service.promotion.run())
    if service.publisher is not None:
        parts.append(service.publisher.run())
    if service.snapshots is not None:
        parts.append(service.snapshots.run())
    if service.nodes is not None:
        parts.append(service.nodes.run())
    return parts


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
