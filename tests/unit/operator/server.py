"""The operator API served by a real uvicorn in a thread, with a running scheduler loop
(fake executor, fake Gerrit REST), for the CLI tests to talk to over HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from crosscheck.model.config import Config
from crosscheck.operator.router import operator_router
from crosscheck.sandbox.gerrit.site import free_port
from crosscheck.store import open_store
from tests.fakes.gerrit import FakeGerrit

from ..scheduler.fakes import FakeExecutor
from .harness import change_info, scheduler_for


@dataclass
class Served:
    url: str
    executor: FakeExecutor
    loop: asyncio.AbstractEventLoop

    def release_builds(self) -> None:
        """Let held builds end (the executor lives on the server's loop)."""
        self.loop.call_soon_threadsafe(self.executor.release.set)


@contextmanager
def serve_operator(tmp_path: Path, config: Config, hold: set[str]) -> Iterator[Served]:
    """Serve on a free port until the block ends; builds of jobs in `hold` keep running.

    The store, the scheduler and the server live on the thread's own event loop: an
    async engine's connections belong to the loop that made them.
    """
    port = free_port()
    started = threading.Event()
    failure: list[BaseException] = []
    holder: list[tuple[uvicorn.Server, FakeExecutor, asyncio.AbstractEventLoop]] = []
    gerrit = FakeGerrit([change_info(1), change_info(3), change_info(20, project="acme/docs")])

    async def serve() -> None:
        engine = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}")
        executor = FakeExecutor({})
        executor.hold = hold
        scheduler = scheduler_for(engine, config, executor, gerrit)
        app = FastAPI()
        app.include_router(operator_router(scheduler))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        holder.append((server, executor, asyncio.get_running_loop()))
        loop_task = asyncio.create_task(scheduler.run())
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        started.set()
        try:
            await serving
        finally:
            loop_task.cancel()
            await asyncio.gather(loop_task, return_exceptions=True)
            await engine.dispose()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # reported to the test below
            failure.append(error)
            started.set()

    thread = threading.Thread(target=run, name="operator-server", daemon=True)
    thread.start()
    started.wait(60)
    if failure or not holder or not holder[0][0].started:
        raise RuntimeError(f"the operator server did not start: {failure or 'timed out'}")
    server, executor, loop = holder[0]
    try:
        yield Served(f"http://127.0.0.1:{port}", executor, loop)
    finally:
        server.should_exit = True
        thread.join(30)
