"""Builds in a store with their console logs, written as the executor writes them (a
ConsoleLog whose listener tells the hub), for the console tests: unit, CLI, browser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.console.hub import ConsoleHub
from crosscheck.console.router import console_router
from crosscheck.executor.console import ConsoleLog, Masker
from crosscheck.executor.layout import log_url
from crosscheck.model.build import BuildOutcome, BuildResult
from crosscheck.model.events import Account, Change, Event, PatchSet
from crosscheck.store import work
from tests.browser.server import serve_app

T = TypeVar("T")
NODE = "local-0"
CHANGE = 1234


def change_event(number: int = CHANGE) -> Event:
    return Event(
        type="patchset-created",
        connection="review",
        created_on=int(time.time()),
        project="acme/driver",
        change=Change(project="acme/driver", branch="master", number=number),
        patchset=PatchSet(number=1, revision=f"{number:040d}"),
        account=Account(username="dev"),
    )


async def add_build(engine: AsyncEngine, job: str = "lab") -> str:
    """A waiting build of a new item; its id."""
    async with engine.begin() as db:
        item = await work.add_item(db, "check", change_event())
        await work.add_builds(db, item, [(job, True)])
        (row,) = await work.builds_of_items(db, [item])
    return row.id


async def start_build(
    engine: AsyncEngine, logs_root: Path, build_id: str, hub: ConsoleHub | None = None
) -> ConsoleLog:
    """The build on a node, with its log directory and console, as Executor._open makes
    them: the hub hears of every line."""
    relative = PurePosixPath("34", str(CHANGE), "1", "check", "lab", build_id)
    directory = logs_root.joinpath(*relative.parts)
    directory.mkdir(parents=True)
    listeners = [lambda _line: hub.wrote(build_id)] if hub is not None else []
    console = ConsoleLog(directory / "console.log", Masker([]), listeners)
    async with engine.begin() as db:
        assert await work.start_build(db, build_id, NODE, log_url(relative))
    return console


async def finish_build(
    engine: AsyncEngine,
    build_id: str,
    result: BuildResult = BuildResult.SUCCESS,
    detail: str | None = None,
) -> None:
    async with engine.begin() as db:
        row = await work.find_build(db, build_id)
        assert row is not None
        now = time.time()
        outcome = BuildOutcome(build_id, result, now - 1, now, row.log_url or "", detail, NODE)
        assert await work.finish_build(db, build_id, outcome)


@dataclass
class ConsoleSite:
    """The console routes served over a store by a real uvicorn, in a thread."""

    url: str
    engine: AsyncEngine
    logs_root: Path
    hub: ConsoleHub
    loop: asyncio.AbstractEventLoop

    def run(self, step: Awaitable[T]) -> T:
        """Run `step` on the server's loop, where the store's connections live."""

        async def wrapped() -> T:
            return await step

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(30)


@contextmanager
def serve_consoles(tmp_path: Path) -> Iterator[ConsoleSite]:
    logs_root = tmp_path / "logs"
    logs_root.mkdir()
    hub = ConsoleHub()
    made: list[ConsoleSite] = []

    async def build(engine: AsyncEngine) -> FastAPI:
        app = FastAPI()
        app.include_router(console_router(engine, logs_root, hub))
        made.append(ConsoleSite("", engine, logs_root, hub, asyncio.get_running_loop()))
        return app

    with serve_app(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", build) as url:
        made[0].url = url
        yield made[0]
