"""What operators do to nodes: look, hold, release, drain, and ask for autoholds.

The pool owns the nodes' state (and keeps holds and drains in the store itself); the
autohold requests are rows the pool claims when a build fails, so they are written
here straight to the store, on the pool's engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.issues import did_you_mean
from crosscheck.executor.lab_state import NodeRuntime
from crosscheck.executor.pool import NodePool
from crosscheck.model.config import Config
from crosscheck.nodes.errors import (
    LocalSlotsError,
    NoStoreError,
    NotHeldError,
    UnknownAutoholdError,
    UnknownJobError,
    UnknownNodeError,
)
from crosscheck.nodes.schemas import AutoholdBody, AutoholdOut, HoldBody, NodeOut, NodesOut
from crosscheck.store import nodes as store

#: The name `NodePool.views` gives this host's own slots.
LOCAL = "local"


async def overview(pool: NodePool) -> NodesOut:
    """Every node (this host's slots first) and the autohold requests."""
    nodes = [NodeOut.of(view) for view in pool.views()]
    return NodesOut(nodes=nodes, autoholds=await autoholds(pool))


async def autoholds(pool: NodePool) -> list[AutoholdOut]:
    """Oldest first, as the pool claims them; none when the pool keeps no store."""
    if pool.engine is None:
        return []
    async with pool.engine.connect() as db:
        return [AutoholdOut.of(request) for request in await store.list_autoholds(db)]


class NodeOperations:
    """`config` is read at each autohold request: the jobs it knows are those of the
    configuration serve runs now, not the one it started with."""

    def __init__(
        self,
        pool: NodePool,
        config: Callable[[], Config],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self._config = config
        self._clock = clock

    async def overview(self) -> NodesOut:
        return await overview(self.pool)

    async def autoholds(self) -> list[AutoholdOut]:
        return await autoholds(self.pool)

    def node(self, name: str) -> NodeOut:
        return next(NodeOut.of(view) for view in self.pool.views() if view.name == name)

    async def hold(self, name: str, body: HoldBody) -> NodeOut:
        self._runtime(name)
        until = None
        if body.hold_for is not None:
            until = self._clock() + timedelta(seconds=body.hold_for)
        await self.pool.hold(name, body.by, body.reason, until)
        return self.node(name)

    async def release(self, name: str, by: str) -> NodeOut:
        # Refused rather than ignored, as a dequeue of nothing is: a release that did
        # nothing usually means the wrong node was named.
        if self._runtime(name).held_by is None:
            raise NotHeldError(f"node '{name}' is not held")
        await self.pool.release(name, by)
        return self.node(name)

    async def drain(self, name: str, drained: bool, by: str) -> NodeOut:
        self._runtime(name)
        await self.pool.drain(name, drained, by)
        return self.node(name)

    async def add_autohold(self, body: AutoholdBody) -> AutoholdOut:
        self._check_job(body.job)
        async with self._engine().begin() as db:
            made = await store.add_autohold(
                db,
                job=body.job,
                project=body.project,
                change_number=body.change,
                count=body.count,
                hold_for=body.hold_for,
                reason=body.reason,
                by=body.by,
                at=self._clock(),
            )
            requests = await store.list_autoholds(db)
        return AutoholdOut.of(next(r for r in requests if r.id == made))

    async def delete_autohold(self, autohold_id: int) -> AutoholdOut:
        async with self._engine().begin() as db:
            found = [r for r in await store.list_autoholds(db) if r.id == autohold_id]
            if not found or not await store.delete_autohold(db, autohold_id):
                raise UnknownAutoholdError(
                    f"no autohold request {autohold_id}: it was deleted, or it held its "
                    "last failed build already"
                )
        return AutoholdOut.of(found[0])

    def _runtime(self, name: str) -> NodeRuntime:
        try:
            return self.pool.runtime(name)
        except KeyError as error:
            if name == LOCAL:
                raise LocalSlotsError(
                    "'local' is this host's own slots, which are not held or drained: "
                    "change `slots` in the '- executor:' element instead"
                ) from error
            raise UnknownNodeError(str(error.args[0])) from error

    def _check_job(self, job: str) -> None:
        jobs = [j.name for j in self._config().jobs.values() if not j.abstract]
        if job not in jobs:
            hint = did_you_mean(job, jobs) or _jobs_hint(sorted(jobs))
            raise UnknownJobError(f"no job '{job}' in the configuration: {hint}")

    def _engine(self) -> AsyncEngine:
        if self.pool.engine is None:
            raise NoStoreError("autohold requests need the store, and this pool has none")
        return self.pool.engine


#: More than this and the hint points to where the whole list is.
LISTED_JOBS = 10


def _jobs_hint(jobs: list[str]) -> str:
    if not jobs:
        return "no job is configured"
    if len(jobs) > LISTED_JOBS:
        return f"{len(jobs)} jobs are configured; `crosscheck config show` lists them"
    return "jobs: " + ", ".join(jobs)
