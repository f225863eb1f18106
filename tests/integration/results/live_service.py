"""The whole results service, served by uvicorn on 127.0.0.1 from a thread of its own."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from crosscheck.http.sockets import listen
from crosscheck.results.ratelimit import RateLimiter
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.serve.results_app import create_results_app
from crosscheck.store import open_store

ADMIN_TOKEN = "admin-token-of-the-live-service"
CI_ACCOUNT = "live-ci"


@dataclass(frozen=True)
class LiveService:
    base_url: str
    admin_token: str
    #: A CI account allowed on every project, so fuzzed writes reach the store.
    ci_token: str


@contextmanager
def live_service(store_url: str) -> Iterator[LiveService]:
    """The store is opened, seeded and served on the server thread's own event loop:
    an async engine's connections belong to the loop that made them."""
    sock = listen("127.0.0.1", 0)
    port: int = sock.getsockname()[1]
    started = threading.Event()
    failure: list[BaseException] = []
    holder: list[uvicorn.Server] = []
    tokens: list[str] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(_serve(store_url, sock, holder, tokens, started))
        except BaseException as error:  # reported to the test below
            failure.append(error)
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="results-server", daemon=True)
    thread.start()
    started.wait(60)
    try:
        if failure or not holder or not holder[0].started:
            raise RuntimeError(f"the results service did not start: {failure or 'timed out'}")
        yield LiveService(f"http://127.0.0.1:{port}", ADMIN_TOKEN, tokens[0])
    finally:
        if holder:
            holder[0].should_exit = True
        thread.join(30)
        sock.close()


async def _serve(
    store_url: str,
    sock: socket.socket,
    holder: list[uvicorn.Server],
    tokens: list[str],
    started: threading.Event,
) -> None:
    engine = await open_store(store_url)
    try:
        # No rate limit worth the name: a fuzz writes as fast as it can.
        settings = ResultsSettings(admin_token=lambda: ADMIN_TOKEN, rate=1e6, burst=1_000_000)
        service = ResultsService(engine, limiter=RateLimiter(settings.rate, settings.burst))
        _, token = await service.accounts.create(CI_ACCOUNT, allowed_projects=["*"])
        tokens.append(token)
        config = uvicorn.Config(
            create_results_app(service, settings),
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        server = uvicorn.Server(config)
        holder.append(server)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        started.set()
        await serving
    finally:
        await engine.dispose()
