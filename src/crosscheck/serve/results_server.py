"""`crosscheck results serve`: the results service on its own, its web app (results_app.py)
under uvicorn and the SSH command server in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from crosscheck.http.sockets import listen as listen_on
from crosscheck.results.ratelimit import RateLimiter
from crosscheck.results.resolver import lookup_client, resolver_for
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.results.ssh import load_or_create_host_key, start_ssh_server
from crosscheck.serve.results_app import create_results_app
from crosscheck.serve.web_server import STOP_SIGNALS, WebServer
from crosscheck.store import STORE_SET, open_store
from crosscheck.web import PagesSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listen:
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    ssh_host: str = "127.0.0.1"
    #: None: no SSH command server.
    ssh_port: int | None = 29419
    host_key: Path | None = None
    #: Where changes no result named yet are looked up (verify-status by number), or None.
    gerrit_url: str | None = None
    #: The service's address as browsers reach it (the Checks tab plugin's), or None: each
    #: request's own.
    public_url: str | None = None


async def serve_results(
    store_url: str | None,
    settings: ResultsSettings,
    listen: Listen,
    pages: PagesSettings | None = None,
) -> None:
    """Serve until cancelled or stopped by SIGTERM or SIGINT; the pages only with public
    reads.

    The HTTP port is taken first: `ListenError` when it is in use, before the store is
    opened or created."""
    with listen_on(listen.http_host, listen.http_port) as sock:
        await _serve_on(sock, store_url, settings, listen, pages)


def _stop_on_signals(server: WebServer) -> None:
    """SIGTERM and SIGINT let the requests in flight finish, then the SSH server and the
    store close. uvicorn's own handling raised the signal again once the web server
    stopped, which ended the process before either closed and before it said so. A
    second signal ends the process at once."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.warning("results: %s: stopping (a second signal ends the process at once)", sig.name)
        for each in STOP_SIGNALS:
            loop.remove_signal_handler(each)
            signal.signal(each, signal.SIG_DFL)
        server.should_exit = True

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)


async def _serve_on(
    sock: socket.socket,
    store_url: str | None,
    settings: ResultsSettings,
    listen: Listen,
    pages: PagesSettings | None,
) -> None:
    engine = await open_store(store_url, hint=STORE_SET)
    service = ResultsService(
        engine,
        limiter=RateLimiter(settings.rate, settings.burst),
        max_age=settings.max_result_age,
    )
    acceptor = None
    gerrit = lookup_client(listen.gerrit_url) if listen.gerrit_url else None
    resolver = resolver_for(service, gerrit)
    try:
        if listen.ssh_port is not None:
            if listen.host_key is None:
                raise ValueError("the SSH server needs a host key path")
            acceptor = await start_ssh_server(
                service,
                resolver,
                load_or_create_host_key(listen.host_key),
                listen.ssh_host,
                listen.ssh_port,
            )
            log.info("results: SSH commands on %s:%d", listen.ssh_host, listen.ssh_port)
        app = create_results_app(service, settings, resolver, pages, public_url=listen.public_url)
        config = uvicorn.Config(
            app,
            host=listen.http_host,
            port=listen.http_port,
            lifespan="off",
            # uvicorn's records go to crosscheck's handler; the app logs each request
            # itself (access_log.py), without query strings.
            log_config=None,
            access_log=False,
        )
        log.info("results: HTTP on http://%s:%d", listen.http_host, listen.http_port)
        server = WebServer(config)
        _stop_on_signals(server)
        await server.serve(sockets=[sock])
    finally:
        if acceptor is not None:
            acceptor.close()
            await acceptor.wait_closed()
        if gerrit is not None:
            await gerrit.aclose()
        await engine.dispose()
        log.info("results: stopped")
