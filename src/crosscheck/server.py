"""`crosscheck serve`: every part of a third-party CI in one asyncio process.

The composition root: it reads the configuration and wires the Gerrit event
sources into the intake, the intake into the scheduler, the scheduler into the
executor and the report queue, and serves the web routes (webhooks, logs) with
uvicorn. Nothing else imports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.live import LiveConfig
from crosscheck.drivers.base import Reporter
from crosscheck.drivers.gerrit.reporter import GerritReporter
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.source import GerritEventSource
from crosscheck.drivers.gerrit.webhook import webhook_router
from crosscheck.executor.settings import executor_from_config
from crosscheck.intake import EventIntake
from crosscheck.model.connection import GerritConnection
from crosscheck.reporting import ReportQueue
from crosscheck.scheduler.scheduler import Scheduler
from crosscheck.secrets import http_password, webhook_token
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


@dataclass
class Service:
    """The running parts, kept for tests and for `status`."""

    live: LiveConfig
    engine: AsyncEngine
    scheduler: Scheduler
    reports: ReportQueue
    sources: dict[str, GerritEventSource]
    app: FastAPI
    rest: dict[str, GerritRestClient] = field(default_factory=dict)


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
    reports = ReportQueue(engine, reporters)
    public = options.public_url or f"http://{options.host}:{options.port}"
    scheduler = Scheduler(
        engine,
        lambda: live.current,
        executor=executor_from_config(config),
        reports=reports,
        connections=config.connections,
        rest=rest,
        logs_url=f"{public.rstrip('/')}/logs",
    )
    intake = EventIntake(engine, scheduler.accept)
    sources = {
        name: GerritEventSource(c, intake, rest[name]) for name, c in config.connections.items()
    }
    app = FastAPI(title="crosscheck")
    app.include_router(webhook_router(sources, _webhook_tokens(config.connections.values())))
    return Service(live, engine, scheduler, reports, sources, app, rest)


def _webhook_tokens(connections: Iterable[GerritConnection]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for connection in connections:
        token = webhook_token(connection)
        if token:
            tokens[connection.name] = token
    return tokens


async def serve(options: ServeOptions) -> None:
    service = await build_service(options)
    server = uvicorn.Server(
        uvicorn.Config(service.app, host=options.host, port=options.port, log_level="warning")
    )
    service.live.reload_on_sighup(asyncio.get_running_loop())
    parts: list[Awaitable[None]] = [
        service.reports.run(),
        service.scheduler.run(),
        service.live.watch(),
        server.serve(),
        *(source.run() for source in service.sources.values()),
    ]
    log.info("crosscheck serving on http://%s:%d", options.host, options.port)
    try:
        await asyncio.gather(*parts)
    finally:
        for client in service.rest.values():
            await client.aclose()
        await service.engine.dispose()
