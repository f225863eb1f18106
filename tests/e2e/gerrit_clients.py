"""Plain clients of the sandbox for assertions: REST as the CI account, stream-events over SSH."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncssh

from crosscheck.drivers.gerrit.rest import GerritRestClient, change_id, project_id
from crosscheck.sandbox.gerrit import SandboxRepo, SandboxState


def ci_rest(state: SandboxState) -> GerritRestClient:
    return GerritRestClient(state.http_url, state.ci.username, state.ci.http_password)


class EventStream:
    """Lines of `gerrit stream-events`, decoded, read by a background task."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        #: When each event was read (time.perf_counter()), for benches.
        self.arrivals: list[float] = []
        self._changed = asyncio.Condition()

    async def feed(self, process: asyncssh.SSHClientProcess[str]) -> None:
        async for line in process.stdout:
            arrived = time.perf_counter()
            async with self._changed:
                self.events.append(json.loads(line))
                self.arrivals.append(arrived)
                self._changed.notify_all()

    def arrival(self, event: dict[str, Any]) -> float:
        return next(at for e, at in zip(self.events, self.arrivals, strict=True) if e is event)

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        async def first() -> dict[str, Any]:
            async with self._changed:
                while True:
                    for event in self.events:
                        if match(event):
                            return event
                    await self._changed.wait()

        return await asyncio.wait_for(first(), timeout)


@asynccontextmanager
async def stream_events(state: SandboxState) -> AsyncIterator[EventStream]:
    """Subscribe as the CI account, checking Gerrit's host key against known_hosts."""
    async with asyncssh.connect(
        "127.0.0.1",
        port=state.ssh_port,
        username=state.ci.username,
        client_keys=[str(state.ci.ssh_key)],
        known_hosts=str(state.known_hosts),
    ) as connection:
        process = await connection.create_process("gerrit stream-events")
        stream = EventStream()
        reader = asyncio.create_task(stream.feed(process))
        try:
            await wait_subscribed(state, stream)
            yield stream
        finally:
            process.close()
            reader.cancel()


async def wait_subscribed(state: SandboxState, stream: EventStream, tries: int = 20) -> None:
    """Wait until Gerrit delivers to this subscriber: create a probe branch until one arrives.

    Gerrit starts sending only once the SSH command is registered, and nothing says
    when that is; a probe event that comes through proves it.
    """
    async with admin_rest(state) as admin:
        for _ in range(tries):
            branch = f"stream-probe-{uuid.uuid4().hex[:12]}"
            await admin.put(f"/projects/{project_id(state.projects[0])}/branches/{branch}", {})
            try:
                await stream.wait_for(updates_ref(f"refs/heads/{branch}"), timeout=1.0)
                return
            except TimeoutError:
                continue
    raise AssertionError(f"stream-events delivered none of {tries} probe events")


def updates_ref(ref: str) -> Callable[[dict[str, Any]], bool]:
    def matches(event: dict[str, Any]) -> bool:
        return bool(event.get("refUpdate", {}).get("refName") == ref)

    return matches


def admin_rest(state: SandboxState) -> GerritRestClient:
    return GerritRestClient(state.http_url, state.admin.username, state.admin.http_password)


async def create_projects(sandbox: SandboxState, *projects: str) -> None:
    """New projects with an empty first commit, as the admin."""
    async with admin_rest(sandbox) as admin:
        for project in projects:
            await admin.put(f"/projects/{project_id(project)}", {"create_empty_commit": True})


async def merge_change(sandbox: SandboxState, work: Path, project: str, name: str) -> str:
    """A change pushed, voted Verified by the CI account, approved and submitted by the
    admin on `project`; the branch's new tip."""
    repo = await SandboxRepo(sandbox, project, work / project.replace("/", "-")).open()
    pushed = await repo.push_change({f"{name}.txt": f"{name}\n"}, f"Add {name}")
    cid = change_id(pushed.project, pushed.number)
    async with ci_rest(sandbox) as ci:
        await ci.post(f"/changes/{cid}/revisions/current/review", {"labels": {"Verified": 1}})
    async with admin_rest(sandbox) as admin:
        await admin.post(f"/changes/{cid}/revisions/current/review", {"labels": {"Code-Review": 2}})
        assert (await admin.post(f"/changes/{cid}/submit", {}))["status"] == "MERGED"
        found = await admin.get(f"/projects/{project_id(project)}/branches/master")
    return str(found["revision"])
