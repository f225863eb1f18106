"""A clock the test moves, a Gerrit's projects and branches, a configuration to load."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.config.loader import load_config
from crosscheck.drivers.gerrit.errors import GerritHttpError, GerritNotFoundError
from crosscheck.model.config import Config
from crosscheck.model.events import Event

CONFIG = """
- connection:
    name: review
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
- label: {name: local}
- job: {name: deploy, node: local, run: [make deploy]}
- job: {name: unit, node: local, run: [make test]}
- pipeline:
    name: check
    manager: independent
    trigger:
      review: [{event: patchset-created}]
    success: {review: {labels: {Verified: 1}}}
    failure: {review: {labels: {Verified: -1}}}
- pipeline:
    name: daily
    manager: supercedent
    trigger:
      timer: [{time: "%(daily)s"}]
- pipeline:
    name: stable
    manager: supercedent
    trigger:
      timer: [{time: "30 3 * * *", branches: [master, stable/1.0]}]
- project:
    name: acme/driver
    check: {jobs: [unit]}
    daily: {jobs: [deploy]}
    stable: {jobs: [deploy]}
- project:
    name: ^acme/lib-.*
    daily: {jobs: [deploy]}
    stable: {jobs: [deploy]}
- project:
    name: acme/unused
    check: {jobs: [unit]}
"""


def load(tmp_path: Path, daily: str = "0 2 * * *", extra: str = "") -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "ci.yaml"
    path.write_text(textwrap.dedent(CONFIG % {"daily": daily}) + textwrap.dedent(extra))
    result = load_config([path])
    assert result.config is not None, [str(e) for e in result.errors]
    return result.config


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class FakeClock:
    """Time moves only when the code under test sleeps; nothing really waits."""

    def __init__(self, start: str, *, sleeps: int = 1000) -> None:
        self.time = at(start)
        self.sleeps: list[float] = []
        self.limit = sleeps

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) >= self.limit:
            raise asyncio.CancelledError
        self.time += seconds
        await asyncio.sleep(0)


class FakeProjects:
    """One Gerrit's projects: name -> (HEAD branch, branches)."""

    def __init__(self, projects: dict[str, tuple[str, list[str]]]) -> None:
        self.table = projects
        self.calls: list[str] = []
        self.error: Exception | None = None
        #: Projects whose calls fail with a server error.
        self.broken: set[str] = set()

    async def projects(self) -> list[str]:
        self.calls.append("projects")
        return list(self.table)

    async def head_branch(self, project: str) -> str:
        self.calls.append(f"HEAD {project}")
        return self._entry(project)[0]

    async def branches(self, project: str) -> list[str]:
        self.calls.append(f"branches {project}")
        return self._entry(project)[1]

    def _entry(self, project: str) -> tuple[str, list[str]]:
        if self.error is not None:
            raise self.error
        if project in self.broken:
            raise GerritHttpError("GET", f"/projects/{project}/HEAD", 500, "Internal error")
        if project not in self.table:
            raise GerritNotFoundError("GET", f"/projects/{project}/HEAD", 404, "Not found")
        return self.table[project]


def gerrit() -> FakeProjects:
    return FakeProjects(
        {
            "acme/driver": ("master", ["master", "stable/1.0"]),
            "acme/lib-a": ("main", ["main"]),
            "acme/lib-b": ("master", ["master", "stable/1.0"]),
            "acme/other": ("master", ["master"]),
            "acme/unused": ("master", ["master"]),
        }
    )


class Sink:
    """Records what reaches the scheduler; raises for events of the projects in `failing`."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.events: list[Event] = []
        self.failing = set(failing)

    async def __call__(self, event: Event, _: AsyncConnection) -> None:
        if event.project in self.failing:
            raise RuntimeError("the scheduler is down")
        self.events.append(event)

    def fired(self) -> list[tuple[str, str, str, str]]:
        """(pipeline, project, branch, scheduled time) of each event, in order."""
        return [
            (
                e.timer.pipeline if e.timer else "?",
                e.project or "?",
                e.timer.branch if e.timer else "?",
                datetime.fromtimestamp(e.created_on, UTC).strftime("%m-%d %H:%M"),
            )
            for e in self.events
        ]
