"""What the Gerrit driver's unit tests share: a recording sink, a source, a webhook client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.gerrit.source import GerritEventSource
from crosscheck.drivers.gerrit.webhook import webhook_router
from crosscheck.events.intake import EventIntake
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event
from tests.fakes.gerrit import FakeGerrit

CONNECTION = GerritConnection(name="review", host="h", user="ci", http_url="http://h/")
TOKEN = "s3cret-token"


class Sink:
    """Records what reaches the scheduler; the first `failures` events raise `error`."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.events: list[Event] = []
        self.failures = failures
        self.error = error or RuntimeError("the scheduler is down")

    async def __call__(self, event: Event, _: AsyncConnection) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.events.append(event)


def source_for(engine: AsyncEngine, sink: Sink) -> GerritEventSource:
    """A source whose catch-up asks the fake Gerrit (with no changes), never the network."""
    return GerritEventSource(CONNECTION, EventIntake(engine, sink), FakeGerrit().rest("http://h/"))


@asynccontextmanager
async def webhook_client(source: GerritEventSource) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(webhook_router({"review": source}, {"review": TOKEN}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crosscheck"
    ) as client:
        yield client
