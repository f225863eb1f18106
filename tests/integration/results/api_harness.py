"""A results app on the store under test, driven in-process through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx

from crosscheck.model.results import DEFAULT_MAX_RESULT_AGE
from crosscheck.results.ratelimit import RateLimiter
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.serve.results_app import create_results_app
from crosscheck.store import open_store
from crosscheck.web import PagesSettings

ADMIN_TOKEN = "admin-secret-for-tests"


@dataclass
class Harness:
    service: ResultsService
    http: httpx.AsyncClient
    #: The app's transport, for another client (a CI's reporter) to call it through.
    transport: httpx.ASGITransport

    async def account(self, name: str, projects: list[str] | None = None) -> str:
        """A CI account allowed on openstack/* (or `projects`); returns its token."""
        _, token = await self.service.accounts.create(
            name, allowed_projects=projects if projects is not None else ["openstack/*"]
        )
        return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def harness(
    store_url: str,
    *,
    public_reads: bool = True,
    rate: float = 1000.0,
    burst: int = 1000,
    max_age: timedelta | None = DEFAULT_MAX_RESULT_AGE,
    pages: PagesSettings | None = None,
    read_token: str | None = None,
    public_url: str | None = None,
) -> AsyncIterator[Harness]:
    engine = await open_store(store_url)
    settings = ResultsSettings(
        public_reads=public_reads,
        admin_token=lambda: ADMIN_TOKEN,
        read_token=lambda: read_token,
        rate=rate,
        burst=burst,
    )
    service = ResultsService(
        engine, limiter=RateLimiter(settings.rate, settings.burst), max_age=max_age
    )
    app = create_results_app(service, settings, pages=pages, public_url=public_url)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://results") as http:
            yield Harness(service, http, transport)
    finally:
        await engine.dispose()
