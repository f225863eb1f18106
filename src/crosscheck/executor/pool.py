"""The node pool: every build's node, local or over SSH, from one place.

A build asks for a label; the pool picks a provider of it (lab_state.choose), checks
an SSH node before use (a node that fails leaves rotation with its reason, and the
build tries the next), locks the node's slot in the store before the build touches
it, and gives the build a `Node`. When the build ends, the node is cleaned and its
lock removed, or, when the connection was lost, the lock stays and the node is
cleaned of the build's leftovers before it takes another.

Health: a loop checks every SSH node on the lab's period (`node_check_interval`,
60 s by default); a failing node leaves rotation with its reason and comes back once
a check passes. A changed host key is one such reason, never accepted. A pool of
this host's slots alone has nothing to check: its loop sleeps until a reload adds a
node, and its gauges follow each local build instead. Holds, drains and autoholds
are operators' decisions, kept in the store (store/nodes.py).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck import metrics
from crosscheck.errors import said
from crosscheck.executor.lab_state import Choice, NodeRuntime, choose, why_waiting
from crosscheck.executor.local import LocalNodeProvider, remove_tree
from crosscheck.executor.node_views import NodeView, node_views, set_gauges
from crosscheck.executor.nodes import Node, NodeError
from crosscheck.executor.pod import INVENTORY, inventory, pod_environment
from crosscheck.executor.ssh.build_node import SshBuildNode
from crosscheck.executor.ssh.connection import HostKeyChangedError
from crosscheck.executor.ssh.host import RemoteHost
from crosscheck.model.build import BuildRequest, BuildResult
from crosscheck.model.node import Lab, SshNode
from crosscheck.store import nodes as store

log = logging.getLogger(__name__)


class NodePool:
    def __init__(
        self,
        lab: Lab,
        local: LocalNodeProvider,
        engine: AsyncEngine | None = None,
        *,
        kill_grace: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.lab = lab
        self.local = local
        self.engine = engine
        self._grace = kill_grace
        self._clock = clock
        self.runtimes = {n.name: NodeRuntime(n, RemoteHost(n)) for n in lab.nodes.values()}
        self._pod_of = {node: pod.name for pod in lab.pods.values() for node in pod.nodes}
        self._local_in_use = 0
        self._changed = asyncio.Condition()
        self._loaded = False
        self._loading = asyncio.Lock()
        #: True while `run` checks the nodes: without it a build never waits for a node
        #: that only a check could bring back.
        self._checking = False
        self._soon: set[asyncio.Task[bool]] = set()
        #: Set when a reload brings nodes: the health loop has something to check.
        self._nodes_added = asyncio.Event()

    # -- builds ------------------------------------------------------------------------

    @asynccontextmanager
    async def acquire(self, build_id: str, label: str | None = None) -> AsyncIterator[Node]:
        providers = self.lab.providers(label) if label is not None else ["local"]
        if label is not None and not providers and self.runtimes:
            raise NodeError(f"no node or POD provides label '{label}'")
        if label is None or providers in ([], ["local"]):
            # This host's slots alone: they queue their builds themselves.
            async with self._local(build_id, label) as node:
                yield node
            return
        await self.load()
        choice = await self._reserve(build_id, label)
        if choice.local:
            async with self._local(build_id, label, reserved=True) as node:
                yield node
            return
        async with self._remote(build_id, choice) as node:
            yield node

    async def recover(self, build_ids: Collection[str], *, keep_work_dirs: bool) -> None:
        """Local leftovers now; on SSH nodes, every build a lock names is cleaned before
        its node takes another (now, when the node answers; else once it does)."""
        await self.load()
        dirty = [r for r in self.runtimes.values() if r.dirty]
        await asyncio.gather(*(self._clean(r) for r in dirty))
        await self.local.recover(build_ids, keep_work_dirs=keep_work_dirs)

    @asynccontextmanager
    async def _local(
        self, build_id: str, label: str | None, *, reserved: bool = False
    ) -> AsyncIterator[Node]:
        if not reserved:
            async with self._changed:
                self._local_in_use += 1
        try:
            async with self.local.acquire(build_id, label) as node:
                self._set_gauges()  # no periodic loop samples this host's slots
                yield node
        finally:
            async with self._changed:
                self._local_in_use -= 1
                self._changed.notify_all()
            self._set_gauges()

    async def _reserve(self, build_id: str, label: str) -> Choice:
        """A free provider of the label, its nodes checked; waits while none is. A node
        failing its check is out of rotation at once, so the next pick is another."""
        told = False
        while True:
            async with self._changed:
                while (choice := self._pick(label)) is None:
                    why = why_waiting(self.lab, label, self.runtimes)
                    if not self._checking:  # nothing would bring a node back
                        raise NodeError(f"no node with label '{label}' can take the build: {why}")
                    if not told:
                        log.info(
                            "build %s waits for a node with label %s: %s", build_id, label, why
                        )
                        told = True
                    await self._changed.wait()
                self._take(choice, build_id)
            if choice.local or await self._checked(choice, build_id):
                return choice

    def _pick(self, label: str) -> Choice | None:
        local_free = self._local_in_use < self.local.statistics().slots
        return choose(self.lab, label, self.runtimes, local_free)

    def _take(self, choice: Choice, build_id: str) -> None:
        if choice.local:
            self._local_in_use += 1
        for name, slot in choice.slots:
            self.runtimes[name].builds[slot] = build_id

    async def _checked(self, choice: Choice, build_id: str) -> bool:
        """Check each node before use; on a failure, give the slots back."""
        results = await asyncio.gather(*(self._check(self.runtimes[n]) for n, _ in choice.slots))
        if all(results):
            return True
        await self._give_back(choice, build_id)
        return False

    async def _give_back(self, choice: Choice, build_id: str) -> None:
        async with self._changed:
            for name, slot in choice.slots:
                runtime = self.runtimes[name]
                if runtime.builds.get(slot) == build_id:
                    del runtime.builds[slot]
            self._changed.notify_all()

    @asynccontextmanager
    async def _remote(self, build_id: str, choice: Choice) -> AsyncIterator[Node]:
        runner = self.runtimes[choice.slots[0][0]]
        nodes: list[SshBuildNode] = []
        staging: Path | None = None
        try:
            run_dir = (await runner.host.work_root()) / build_id
            await self._lock(choice, build_id, run_dir)
            staging = self._staging(build_id)
            node = self._build_node(choice, runner, staging, run_dir)
            nodes.append(node)
            yield node
        finally:
            await asyncio.shield(self._release(choice, build_id, nodes, staging))

    def _build_node(
        self, choice: Choice, runner: NodeRuntime, staging: Path, run_dir: PurePosixPath
    ) -> SshBuildNode:
        # The login the steps run as there, not this machine's user.
        login = {"USER": runner.spec.user, "LOGNAME": runner.spec.user}
        environment = {**login, "CROSSCHECK_NODE_LABELS": " ".join(runner.spec.labels)}
        name = runner.name
        if choice.pod is not None:
            environment = {**login, **pod_environment(choice.pod, self.lab.nodes, run_dir)}
            (staging / INVENTORY).write_text(inventory(choice.pod, self.lab.nodes))
            name = f"{choice.pod.name}/{runner.name}"

        async def ended(request: BuildRequest, result: BuildResult) -> str | None:
            return await self._autohold(choice, request, result, run_dir)

        return SshBuildNode(
            name,
            runner.host,
            staging,
            run_dir,
            environment=environment,
            kill_grace=self._grace,
            on_ended=ended,
        )

    def _staging(self, build_id: str) -> Path:
        """Where the workspace is prepared on this host before it is sent."""
        root = self.local.work_root / "staging"
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            return Path(tempfile.mkdtemp(prefix=f"{build_id}-", dir=root))
        except OSError as error:
            raise NodeError(f"cannot create a staging directory in {root}: {error}") from error

    async def _lock(self, choice: Choice, build_id: str, run_dir: PurePosixPath) -> None:
        if self.engine is None:
            return
        pod = choice.pod.name if choice.pod else ""
        # Only the node running the steps has the work directory; the others are reaped.
        runner = choice.slots[0][0]
        locks = [
            store.NodeLock(
                name, slot, build_id, pod, str(run_dir) if name == runner else "", self._clock()
            )
            for name, slot in choice.slots
        ]
        try:
            async with self.engine.begin() as db:
                await store.add_locks(db, locks)
        except IntegrityError as error:
            # A lock this process does not know of: left by another, so not clean.
            await self._give_back(choice, build_id)
            await self._reload_locks()
            raise NodeError(f"node {choice.slots[0][0]} is locked by another build") from error

    async def _release(
        self,
        choice: Choice,
        build_id: str,
        nodes: list[SshBuildNode],
        staging: Path | None,
    ) -> None:
        if staging is not None:
            await asyncio.to_thread(remove_tree, staging)
        node = nodes[0] if nodes else None
        runner = choice.slots[0][0]
        for name, slot in choice.slots:
            runtime = self.runtimes[name]
            run_dir = str(node.run_dir) if node is not None and name == runner else ""
            if node is not None and node.keep_work_dir and name == runner:
                await self._unlock(runtime, build_id)  # kept: held, or kept on failure
            else:
                runtime.dirty[build_id] = run_dir
                if node is not None and node.lost:
                    self._out(runtime, f"lost during build {build_id}")
                    self._check_soon(runtime)
                else:
                    await self._clean(runtime)
            async with self._changed:
                if runtime.builds.get(slot) == build_id:
                    del runtime.builds[slot]
                self._changed.notify_all()
        self._prune()

    # -- cleaning ----------------------------------------------------------------------

    async def _clean(self, runtime: NodeRuntime) -> bool:
        """Stop what the node's dirty builds left and remove their work directories;
        then their locks go and the node is usable again."""
        builds = dict(runtime.dirty)
        if not builds:
            return True
        try:
            directories = {PurePosixPath(d) for d in builds.values() if d}
            stopped = await runtime.host.clean(builds, directories, self._grace)
        except NodeError as error:
            self._out(runtime, f"cannot clean up after build(s) {', '.join(builds)}: {error}")
            return False
        if stopped:
            log.warning(
                "node %s: stopped %d process(es) left by build(s) %s",
                runtime.name,
                stopped,
                ", ".join(builds),
            )
        await self._unlock(runtime, *builds)
        async with self._changed:
            for build_id in builds:
                runtime.dirty.pop(build_id, None)
            self._changed.notify_all()
        return True

    async def _unlock(self, runtime: NodeRuntime, *build_ids: str) -> None:
        if self.engine is None:
            return
        async with self.engine.begin() as db:
            await store.remove_locks(db, runtime.name, list(build_ids))

    # -- health ------------------------------------------------------------------------

    async def run(self) -> None:
        """Check every SSH node now and then on the lab's period, until cancelled; while
        the pool has none, wait for a reload to bring one."""
        await self.load()
        self._checking = True
        self._set_gauges()
        try:
            while True:
                if not self.runtimes:  # this host's slots alone: nothing to check
                    self._nodes_added.clear()
                    await self._nodes_added.wait()
                    continue
                # Holds first: an unreachable node's check takes its connect timeout.
                await self._expire_holds()
                await self.check_all()
                self._prune()
                self._set_gauges()
                await asyncio.sleep(self.lab.check_interval)
        finally:
            self._checking = False
            async with self._changed:
                self._changed.notify_all()
            await asyncio.gather(*(r.host.close() for r in self.runtimes.values()))

    def _set_gauges(self) -> None:
        set_gauges(self.views(), self.local.statistics().in_use)

    async def check_all(self) -> None:
        await asyncio.gather(*(self._check(r, afresh=True) for r in self.runtimes.values()))

    async def _check(self, runtime: NodeRuntime, *, afresh: bool = False) -> bool:
        """Before use, on the shared connection; on the period, on a new one."""
        try:
            await (runtime.host.check_afresh() if afresh else runtime.host.check())
        except Exception as error:  # anything a node does must not stop the pool
            if not isinstance(error, NodeError):
                log.exception("node %s: its check failed in crosscheck", runtime.name)
                error = NodeError(f"the check failed: {said(error)}")
            if isinstance(error, HostKeyChangedError):
                runtime.host.drop()  # not another command to a host that is not the node
            self._out(runtime, str(error))
            return False
        if runtime.dirty and not await self._clean(runtime):
            return False
        await self._back(runtime)
        return True

    def _check_soon(self, runtime: NodeRuntime) -> None:
        """A node lost by one build may be back at once (a blip, a build that killed its
        own session): check it now rather than at the next period."""
        if not self._checking:
            return
        task = asyncio.get_running_loop().create_task(self._check(runtime, afresh=True))
        self._soon.add(task)
        task.add_done_callback(self._soon.discard)

    def _out(self, runtime: NodeRuntime, reason: str) -> None:
        """Said when the node goes out, and again when the reason it stays out changes:
        an unreachable node that comes back with a new host key is another problem."""
        was, said_before = runtime.healthy, runtime.reason
        runtime.healthy, runtime.reason, runtime.checked_at = False, reason, self._clock()
        if was is not False:
            metrics.node_failures.labels(runtime.name).inc()
        if was is not False or reason != said_before:
            log.warning("node %s is out of rotation: %s", runtime.name, reason)

    async def _back(self, runtime: NodeRuntime) -> None:
        was = runtime.healthy
        runtime.healthy, runtime.reason, runtime.checked_at = True, "", self._clock()
        if was is False:
            log.info("node %s is back in rotation", runtime.name)
        elif was is None:
            log.info("node %s (%s) is ready", runtime.name, runtime.spec.address)
        if was is not True:
            async with self._changed:
                self._changed.notify_all()

    # -- reloads -----------------------------------------------------------------------

    def reconfigure(self, lab: Lab) -> None:
        """A reloaded configuration's nodes and PODs: new ones join (unchecked), changed
        ones are checked again with their new settings (a new host key, say), removed
        ones take no more builds and go once idle and clean."""
        if lab == self.lab:
            return
        for name, spec in lab.nodes.items():
            runtime = self.runtimes.get(name)
            if runtime is None:
                self.runtimes[name] = NodeRuntime(spec, RemoteHost(spec))
                log.info("node %s added (%s)", name, spec.address)
            elif runtime.spec != spec or runtime.retired:
                self._renew(runtime, spec)
        for name in set(self.runtimes) - set(lab.nodes):
            self.runtimes[name].retired = True
            log.info("node %s removed from the configuration", name)
        self.lab = lab
        self._pod_of = {node: pod.name for pod in lab.pods.values() for node in pod.nodes}
        self._prune()
        if self.runtimes:
            self._nodes_added.set()
        asyncio.get_running_loop().create_task(self._wake())

    def _renew(self, runtime: NodeRuntime, spec: SshNode) -> None:
        old = runtime.host
        runtime.spec, runtime.host, runtime.retired = spec, RemoteHost(spec), False
        runtime.healthy, runtime.reason = None, "not checked yet"
        if not runtime.builds:
            old.drop()  # builds still running keep their own connection to its end
        log.info("node %s changed: checked again before its next build", spec.name)

    def _prune(self) -> None:
        for name, runtime in list(self.runtimes.items()):
            if runtime.retired and not runtime.builds and not runtime.dirty:
                runtime.host.drop()
                del self.runtimes[name]

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the store ---------------------------------------------------------------------

    async def load(self) -> None:
        """Holds, drains and locks left by the last process (each lock a build to clean
        up after), once."""
        async with self._loading:
            if self._loaded or self.engine is None:
                self._loaded = True
                return
            await self._reload_states()
            await self._reload_locks()
            self._loaded = True

    async def _reload_locks(self) -> None:
        if self.engine is None:
            return
        async with self.engine.connect() as db:
            found = await store.locks(db)
        for lock in found:
            runtime = self.runtimes.get(lock.node)
            if runtime is None:
                log.warning(
                    "node %s is locked by build %s but no longer configured",
                    lock.node,
                    lock.build_id,
                )
            elif lock.build_id not in runtime.builds.values():
                runtime.dirty.setdefault(lock.build_id, lock.run_dir)

    async def _reload_states(self) -> None:
        if self.engine is None:
            return
        async with self.engine.connect() as db:
            found = await store.states(db)
        for name, state in found.items():
            runtime = self.runtimes.get(name)
            if runtime is not None:
                runtime.held_by, runtime.hold_reason = state.held_by, state.hold_reason
                runtime.hold_until, runtime.kept_dir = state.hold_until, state.kept_dir
                runtime.drained = state.drained

    # -- operators ---------------------------------------------------------------------

    def runtime(self, name: str) -> NodeRuntime:
        runtime = self.runtimes.get(name)
        if runtime is None:
            known = ", ".join(sorted(self.runtimes)) or "none is configured"
            raise KeyError(f"no node '{name}' (nodes: {known})")
        return runtime

    async def hold(
        self, name: str, by: str, reason: str, until: datetime | None = None
    ) -> NodeRuntime:
        runtime = self.runtime(name)
        now = self._clock()
        if self.engine is not None:
            async with self.engine.begin() as db:
                # A directory an autohold kept stays recorded: releasing removes it.
                await store.set_hold(
                    db, name, by=by, reason=reason, at=now, until=until, kept_dir=runtime.kept_dir
                )
        runtime.held_by, runtime.hold_reason, runtime.hold_until = by, reason, until
        log.info("node %s held by %s: %s", name, by, reason or "no reason given")
        return runtime

    async def release(self, name: str, by: str) -> NodeRuntime:
        """Back in rotation; a directory an autohold kept is removed first."""
        runtime = self.runtime(name)
        kept = runtime.kept_dir
        if kept:
            runtime.dirty.setdefault(f"kept-{name}", kept)
        if self.engine is not None:
            async with self.engine.begin() as db:
                await store.clear_hold(db, name, self._clock())
        runtime.held_by, runtime.hold_reason, runtime.hold_until = None, "", None
        runtime.kept_dir = None
        log.info("node %s released by %s", name, by)
        if kept:
            await self._clean_kept(runtime)
        async with self._changed:
            self._changed.notify_all()
        return runtime

    async def _clean_kept(self, runtime: NodeRuntime) -> None:
        kept = {k: v for k, v in runtime.dirty.items() if k.startswith("kept-")}
        try:
            for directory in kept.values():
                await runtime.host.remove(PurePosixPath(directory))
        except NodeError as error:
            self._out(runtime, f"cannot remove the kept work directory: {error}")
            return
        for key in kept:
            runtime.dirty.pop(key, None)

    async def drain(self, name: str, drained: bool, by: str) -> NodeRuntime:
        runtime = self.runtime(name)
        if self.engine is not None:
            async with self.engine.begin() as db:
                await store.set_drained(db, name, drained, self._clock())
        runtime.drained = drained
        log.info("node %s %s by %s", name, "drained" if drained else "undrained", by)
        async with self._changed:
            self._changed.notify_all()
        return runtime

    async def _expire_holds(self) -> None:
        now = self._clock()
        for runtime in list(self.runtimes.values()):
            if runtime.hold_until is not None and runtime.hold_until <= now:
                log.info("node %s: its hold by %s expired", runtime.name, runtime.held_by)
                await self.release(runtime.name, "expiry")

    async def _autohold(
        self, choice: Choice, request: BuildRequest, result: BuildResult, run_dir: PurePosixPath
    ) -> str | None:
        """A failed build a request names keeps its node(s), held, for debugging."""
        if result is not BuildResult.FAILURE or self.engine is None:
            return None
        change = request.event.change.number if request.event.change else None
        async with self.engine.begin() as db:
            claimed = await store.claim_autohold(db, request.job.name, request.project, change)
            if claimed is None:
                return None
            now = self._clock()
            until = now + timedelta(seconds=claimed.hold_for)
            by, reason = f"autohold {claimed.id}", f"{claimed.reason} (build {request.build_id})"
            for index, (name, _) in enumerate(choice.slots):
                kept = str(run_dir) if index == 0 else None
                await store.set_hold(
                    db, name, by=by, reason=reason, at=now, until=until, kept_dir=kept
                )
        for index, (name, _) in enumerate(choice.slots):
            runtime = self.runtimes[name]
            runtime.held_by, runtime.hold_reason, runtime.hold_until = by, reason, until
            runtime.kept_dir = str(run_dir) if index == 0 else None
        log.warning("build %s failed: node(s) %s held (%s)", request.build_id, choice.slots, by)
        return (
            f"--- held for debugging by {by} until {until:%Y-%m-%d %H:%M} UTC: "
            f"{choice.slots[0][0]}:{run_dir}"
        )

    # -- views -------------------------------------------------------------------------

    def views(self) -> list[NodeView]:
        """This host's slots, then every SSH node by name."""
        return node_views(self.local.statistics(), self.lab, self.runtimes.values(), self._pod_of)
