"""A real HTTP server (uvicorn, in a thread) serving the pages from a store."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.results.service import ResultsService
from crosscheck.store import open_store
from crosscheck.web import PagesSettings, pages_router


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_pages(
    store_url: str,
    settings: PagesSettings,
    seed: Callable[[ResultsService], Awaitable[None]],
) -> Iterator[str]:
    """Seed the store, then serve the pages on a free port; yields the base URL.

    The engine is opened, seeded and served on the server thread's own event loop:
    an async engine's connections belong to the loop that made them.
    """

    async def build(engine: AsyncEngine) -> FastAPI:
        # Seeded like an import (backfill): weeks of history, past the API's age window.
        service = ResultsService(engine, max_age=None)
        await seed(service)
        app = FastAPI()
        app.include_router(pages_router(service, settings))
        return app

    with serve_app(store_url, build) as url:
        yield url


@contextmanager
def serve_app(store_url: str, build: Callable[[AsyncEngine], Awaitable[FastAPI]]) -> Iterator[str]:
    """The app `build` makes on the store, served on a free port; yields the base URL."""
    port = free_port()
    started = threading.Event()
    failure: list[BaseException] = []
    holder: list[uvicorn.Server] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(
                _serve(store_url, build, port=port, holder=holder, started=started)
            )
        except BaseException as error:  # reported to the test below
            failure.append(error)
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="pages-server", daemon=True)
    thread.start()
    started.wait(60)
    if failure or not holder or not holder[0].started:
        raise RuntimeError(f"the pages server did not start: {failure or 'timed out'}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        holder[0].should_exit = True
        thread.join(30)


async def _serve(
    store_url: str,
    build: Callable[[AsyncEngine], Awaitable[FastAPI]],
    *,
    port: int,
    holder: list[uvicorn.Server],
    started: threading.Event,
) -> None:
    engine = await open_store(store_url)
    try:
        app = await build(engine)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        holder.append(server)
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        started.set()
        await serving
    finally:
        await engine.dispose()
