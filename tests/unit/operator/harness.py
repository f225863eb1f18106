"""The operator API over a real SQLite store and scheduler, a fake executor and the fake
Gerrit (tests/fakes/gerrit.py); the e2e test drives the same path for real."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.loader import load_config
from crosscheck.drivers.gerrit.changes import GerritChanges
from crosscheck.model.config import Config
from crosscheck.operator.router import operator_router
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.scheduler import Scheduler
from tests.fakes.gerrit import Change, FakeGerrit, Revision

from ..scheduler.fakes import FakeExecutor

ADMIN_TOKEN = "ccr_operator-token-for-tests"
TOKEN_VARIABLE = "CROSSCHECK_TEST_ADMIN_TOKEN"

CI_WITH_TOKEN = f"""
- ci:
    name: Acme CI
    admin_token_env: {TOKEN_VARIABLE}
"""

CONFIG = """
- connection:
    name: review
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- pipeline:
    name: check
    manager: independent
    trigger:
      review:
        - event: patchset-created
    success:
      review:
        labels: {Verified: 1}
    failure:
      review:
        labels: {Verified: -1}
- pipeline:
    name: post
    manager: supercedent
    trigger:
      review:
        - event: change-merged
- label:
    name: local
- job:
    name: unit
    node: local
    run: [make test]
- job:
    name: lab
    node: local
    run: [make lab]
- project:
    name: acme/driver
    check:
      jobs: [unit, lab]
    post:
      jobs: [unit]
- project:
    name: acme/docs
    post:
      jobs: [unit]
"""

TWO_CONNECTIONS = """
- connection:
    name: review
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- connection:
    name: upstream
    host: upstream.example.org
    http_url: https://upstream.example.org/
    user: ci
- pipeline:
    name: check
    manager: independent
    trigger:
      review:
        - event: patchset-created
- pipeline:
    name: both
    manager: independent
    trigger:
      review:
        - event: patchset-created
      upstream:
        - event: patchset-created
- label:
    name: local
- job:
    name: unit
    node: local
    run: [make test]
- project:
    name: acme/driver
    connection: review
    check:
      jobs: [unit]
    both:
      jobs: [unit]
- project:
    name: ^acme/.*
    connection: upstream
    both:
      jobs: [unit]
"""


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "crosscheck.yaml"
    path.write_text(text)
    result = load_config([path])
    assert result.config is not None, result.errors
    return result.config


def change_info(
    number: int, project: str = "acme/driver", patchsets: int = 2, status: str = "NEW"
) -> Change:
    """Change `number` with `patchsets` patchsets, driver.py changed in each."""
    revisions = [
        Revision(
            ps,
            f"{number:04d}{ps:036d}",
            message=f"Change {number}\n",
            files={"/COMMIT_MSG": {}, "driver.py": {}},
        )
        for ps in range(1, patchsets + 1)
    ]
    return Change(number, project, revisions, status=status)


@dataclass
class Operator:
    http: httpx.AsyncClient
    scheduler: Scheduler
    executor: FakeExecutor
    gerrit: FakeGerrit

    async def enqueue(self, token: str | None = ADMIN_TOKEN, **body: Any) -> httpx.Response:
        return await self.http.post("/api/v1/enqueue", json=body, headers=bearer(token))

    async def dequeue(self, token: str | None = ADMIN_TOKEN, **body: Any) -> httpx.Response:
        return await self.http.post("/api/v1/dequeue", json=body, headers=bearer(token))

    async def status(self) -> Any:
        answer = await self.http.get("/api/v1/status")
        assert answer.status_code == 200, answer.text
        return answer.json()


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def scheduler_for(
    engine: AsyncEngine, config: Config, executor: FakeExecutor, gerrit: FakeGerrit
) -> Scheduler:
    rest = {"review": gerrit.rest("https://review.example.org/")}
    if "upstream" in config.connections:
        rest["upstream"] = gerrit.rest("https://upstream.example.org/")
    changes = {
        name: GerritChanges(client, config.connections[name]) for name, client in rest.items()
    }
    return Scheduler(
        engine,
        lambda: config,
        executor=executor,
        reports=ReportQueue(engine, {}),
        connections=config.connections,
        changes=changes,
        logs_url="https://ci.example.org/logs",
        tick=0.05,
    )


@asynccontextmanager
async def operator_api(
    engine: AsyncEngine, config: Config, gerrit: FakeGerrit | None = None
) -> AsyncIterator[Operator]:
    gerrit = gerrit or FakeGerrit([change_info(n) for n in range(1, 10)])
    executor = FakeExecutor({})
    scheduler = scheduler_for(engine, config, executor, gerrit)
    app = FastAPI()
    app.include_router(operator_router(scheduler))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crosscheck"
    ) as http:
        yield Operator(http, scheduler, executor, gerrit)
    await scheduler.stop_builds()
