"""The executor: one build from request to outcome.

    node from the provider -> log directory and console -> workspace (the change
    merged on its branch tip, required projects beside it) -> steps -> artifacts ->
    build.json -> outcome

`run()` never raises for a build that went wrong: that is an outcome (FAILURE,
MERGE_CONFLICT, ERROR, ...). Cancelling the task running it kills the build's
processes, records CANCELED and re-raises the cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from crosscheck.config.secrets import SecretError, http_password
from crosscheck.errors import said
from crosscheck.executor import disk_guard
from crosscheck.executor.candidate_workspace import prepare_candidate
from crosscheck.executor.console import ConsoleLog, Masker
from crosscheck.executor.environment import BuildPaths, build_environment
from crosscheck.executor.fetch_plan import event_time
from crosscheck.executor.git import Git, GitError, HttpCredentials
from crosscheck.executor.layout import log_path, log_url
from crosscheck.executor.mirrors import MirrorCache
from crosscheck.executor.nodes import LineSink, Node, NodeError, NodeProvider
from crosscheck.executor.prefetch import Prefetcher
from crosscheck.executor.records import (
    ARTIFACTS,
    CONSOLE_LOG,
    MAX_ARTIFACT_BYTES,
    collect_artifacts,
    write_build_json,
)
from crosscheck.executor.scenario_workspace import (
    changes_to_apply,
    own_change,
    prepare_in_scenario,
    used_connections,
    with_dependencies,
)
from crosscheck.executor.sources import Sources
from crosscheck.executor.steps import StepRecord, run_steps
from crosscheck.executor.workspace import (
    GerritRemote,
    MergeConflictError,
    Workspace,
    WorkspaceBuilder,
)
from crosscheck.model.build import (
    BuildOutcome,
    BuildRequest,
    BuildResult,
    format_duration,
    patchset_ref,
)
from crosscheck.model.config import DEFAULT_GIT_STALL_TIME
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import CandidateItem, Event
from crosscheck.model.item_context import ScenarioVersions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildStarted:
    """Told to `on_started` once the build has a node and a log directory."""

    build_id: str
    node: str
    started_at: float
    log_url: str
    log_dir: Path


StartedHook = Callable[[BuildStarted], Awaitable[None]]
FinishedHook = Callable[[BuildOutcome], Awaitable[None]]


class ConsoleWatchers(Protocol):
    """Told each time a build's console grew, so live followers wake (console/hub.py)."""

    def wrote(self, build_id: str) -> None: ...


@dataclass
class _Build:
    """What one build knows while it runs."""

    request: BuildRequest
    node: Node
    log_dir: Path
    log_url: str
    started_at: float
    console: ConsoleLog
    mask: Masker
    steps: tuple[StepRecord, ...] = ()
    workspace: Workspace | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The workspace could not be fetched: its server was away.
    source_away: bool = False


class Executor:
    """Runs builds on nodes from one provider and keeps their logs under `logs_root`."""

    def __init__(
        self,
        provider: NodeProvider,
        logs_root: Path,
        mirrors: MirrorCache,
        *,
        secrets: Iterable[str] | Callable[[], Iterable[str]] = (),
        keep_failed_workspaces: bool = False,
        clock: Callable[[], float] = time.time,
        console_hub: ConsoleWatchers | None = None,
        git_stall_time: int = DEFAULT_GIT_STALL_TIME,
        disk_limit: int = 0,
    ) -> None:
        self.provider = provider
        self.logs_root = logs_root
        self.mirrors = mirrors
        #: What the console masks, asked at each build: a reload may name new secrets.
        self._secrets: Callable[[], Iterable[str]] = (
            secrets if callable(secrets) else partial(tuple, secrets)
        )
        self._keep_failed = keep_failed_workspaces
        self._clock = clock
        self._console_hub = console_hub
        self._stall_time = git_stall_time
        self._prefetcher = Prefetcher(mirrors, git_stall_time)
        #: Bytes a build may take on this host's disk while its steps run; 0: no limit.
        self._disk_limit = disk_limit

    def prefetch(self, event: Event, connection: GerritConnection | None) -> None:
        """Start fetching a change's patchset and branch into its mirror now, while its
        builds are planned: they then share that fetch or need none (prefetch.py)."""
        self._prefetcher.change(event, connection)

    async def recover(self, build_ids: Collection[str]) -> None:
        """Before interrupted builds run again: clear what they left on the nodes (their
        work directories stay with `keep_failed_workspaces`)."""
        await self.provider.recover(build_ids, keep_work_dirs=self._keep_failed)

    async def run(
        self,
        request: BuildRequest,
        *,
        on_started: StartedHook | None = None,
        on_finished: FinishedHook | None = None,
        listeners: Sequence[LineSink] = (),
    ) -> BuildOutcome:
        """Run one build to its outcome; `listeners` get each console line as written."""
        try:
            passwords = self._passwords(request)
        except SecretError as error:
            return await self._refused(request, str(error), on_finished)
        secrets = [s for s in self._secrets() if s]
        mask = Masker([*secrets, *(p for p in passwords.values() if p)])
        try:
            async with self.provider.acquire(request.build_id, request.job.node) as node:
                build = self._open(request, node, mask, listeners)
                with build.console:
                    return await self._run_on_node(build, passwords, on_started, on_finished)
        except NodeError as error:
            return await self._refused(request, str(error), on_finished, BuildResult.NODE_FAILURE)

    async def _run_on_node(
        self,
        build: _Build,
        passwords: Mapping[str, str | None],
        on_started: StartedHook | None,
        on_finished: FinishedHook | None,
    ) -> BuildOutcome:
        self._header(build)
        try:  # a full disk shows in the console's failure, and ends the build ERROR
            write_build_json(build.log_dir, self._record(build, None, None, None))
        except OSError as error:
            log.error("build %s: cannot write build.json: %s", build.request.build_id, error)
        started = BuildStarted(
            build.request.build_id, build.node.name, build.started_at, build.log_url, build.log_dir
        )
        try:
            if on_started is not None:
                await on_started(started)
            result, detail = await self._work(build, passwords)
        except asyncio.CancelledError:
            await asyncio.shield(
                self._finish(build, BuildResult.CANCELED, "cancelled", on_finished)
            )
            raise
        except NodeError as error:
            result, detail = BuildResult.NODE_FAILURE, str(error)
        except Exception as error:  # a bug or a broken disk: still an outcome, never a crash
            log.exception("build %s failed inside crosscheck", build.request.build_id)
            result, detail = (
                BuildResult.ERROR,
                f"crosscheck failed: {said(error)}",
            )
        return await self._finish(build, result, detail, on_finished)

    async def _work(
        self, build: _Build, passwords: Mapping[str, str | None]
    ) -> tuple[BuildResult, str | None]:
        request, node = build.request, build.node
        paths = BuildPaths.under(node.run_dir, request.workspace_name)
        local = BuildPaths.under(PurePosixPath(node.work_dir), request.workspace_name)
        _make_dirs(local.home, local.tmp, local.artifacts)
        try:
            build.workspace = await self._workspace(build, passwords, Path(local.src_root))
        except MergeConflictError as error:
            build.console.line(f"--- MERGE_CONFLICT: {error}")
            return BuildResult.MERGE_CONFLICT, str(error)
        except GitError as error:
            build.console.line(f"--- the workspace could not be prepared: {error}")
            build.source_away = error.server_away
            return BuildResult.ERROR, str(error)
        env = build_environment(
            request,
            paths,
            node=node.name,
            log_url=build.log_url,
            commit_message=build.workspace.commit_message,
        )
        env.update(node.environment)
        await node.push()
        return await self._guarded_steps(build, env, paths, local)

    async def _guarded_steps(
        self, build: _Build, env: dict[str, str], paths: BuildPaths, local: BuildPaths
    ) -> tuple[BuildResult, str | None]:
        """The job's steps, stopped if the build takes more of this host's disk than
        the limit; then its artifacts."""
        roots = self._disk_roots(build)
        guard = None
        if roots:
            watch = disk_guard.over_limit(roots, self._disk_limit, disk_guard.CHECK_INTERVAL)
            guard = asyncio.create_task(watch, name="disk-guard")
        try:
            outcome = await run_steps(
                build.node,
                build.request.job.run,
                env=env,
                cwd=paths.workspace,
                console=build.console,
                timeout=build.request.job.timeout,
                guard=guard,
            )
        finally:
            fired = guard is not None and guard.done() and not guard.cancelled()
            if guard is not None:
                guard.cancel()
            build.extra["artifacts"] = await self._artifacts(build, local)
        build.steps = outcome.steps
        if roots and not fired and outcome.result in (BuildResult.SUCCESS, BuildResult.FAILURE):
            # Once more at the end, what stays of the build: its logs (a build shorter
            # than the guard's period, or one that wrote its last gigabytes since). Its
            # work directory goes now; walking a big checkout again would delay the vote.
            said = await disk_guard.measure([build.log_dir], self._disk_limit)
            if said is not None:
                build.console.line(f"--- {said}")
                return BuildResult.FAILURE, said
        return outcome.result, outcome.detail

    def _disk_roots(self, build: _Build) -> list[Path]:
        """Where the build's use of this host's disk is measured: its log directory, and
        its work directory when its steps run here; none without a limit."""
        if not self._disk_limit:
            return []
        roots = [build.log_dir]
        if build.node.shares_host:
            roots.append(Path(build.node.work_dir))
        return roots

    async def _workspace(
        self, build: _Build, passwords: Mapping[str, str | None], src_root: Path
    ) -> Workspace:
        request = build.request
        sources = self._sources(request, passwords, shared=build.node.shares_host)
        if request.event.candidate is not None:
            return await self._candidate_workspace(
                build, request.event.candidate, sources, src_root
            )
        versions = request.scenario
        if versions is not None:
            return await self._scenario_workspace(build, versions, sources, src_root)
        connection = request.connection_name
        builder = WorkspaceBuilder(
            sources.git_for(connection),
            self.mirrors,
            sources.remote(connection),
            shared=sources.shared,
        )
        build.console.line("--- preparing the workspace")
        began = time.monotonic()
        workspace = await builder.prepare(request.event, request.job.required_projects, src_root)
        changes = changes_to_apply(request.context.dependencies, None)
        if changes:
            workspace = await with_dependencies(workspace, changes, connection, sources)
        for checkout in (workspace.main, *workspace.required):
            where = checkout.branch or "detached"
            build.console.line(f"    {checkout.project}: {where} at {checkout.revision}")
        build.console.line(f"--- workspace ready in {time.monotonic() - began:.1f}s")
        return workspace

    def _sources(
        self, request: BuildRequest, passwords: Mapping[str, str | None], *, shared: bool
    ) -> Sources:
        connections = used_connections(request)

        def git_for(connection: str | None) -> Git:
            found = connections.get(connection or "")
            password = passwords.get(connection or "")
            if found is None or password is None:
                return Git(stall_time=self._stall_time)
            return Git(HttpCredentials(found.http_url, found.user, password), self._stall_time)

        remotes = {
            name: GerritRemote(name, c.http_url, passwords.get(name) is not None)
            for name, c in connections.items()
        }
        since = event_time(request.event.received_at)
        return Sources(self.mirrors, remotes, git_for, since, shared)

    async def _candidate_workspace(
        self, build: _Build, candidate: CandidateItem, sources: Sources, src_root: Path
    ) -> Workspace:
        build.console.line(f"--- preparing candidate {candidate.id[:12]} of {candidate.scenario}")
        began = time.monotonic()
        workspace = await prepare_candidate(candidate, src_root, sources)
        for checkout in workspace.required:
            build.console.line(f"    {checkout.project}: at {checkout.revision}")
        build.console.line(f"--- workspace ready in {time.monotonic() - began:.1f}s")
        return workspace

    async def _scenario_workspace(
        self, build: _Build, versions: ScenarioVersions, sources: Sources, src_root: Path
    ) -> Workspace:
        request = build.request
        changes = changes_to_apply(request.context.dependencies, own_change(request.event))
        taken = f"candidate {versions.candidate[:12]}" if versions.candidate else "its refs"
        merged = ", ".join(c.label for c in changes) or "no change"
        build.console.line(f"--- preparing scenario {versions.scenario} at {taken}, {merged}")
        began = time.monotonic()
        workspace = await prepare_in_scenario(versions, changes, src_root, sources)
        for checkout in workspace.required:
            build.console.line(f"    {checkout.project}: at {checkout.revision}")
        build.console.line(f"--- workspace ready in {time.monotonic() - began:.1f}s")
        return replace(workspace, commit_message=_commit_message(request.event))

    async def _artifacts(self, build: _Build, local: BuildPaths) -> int:
        for note in await build.node.pull(PurePosixPath(ARTIFACTS)):
            build.console.line(f"--- artifacts: {note}")
        copied, left_out = await asyncio.to_thread(
            collect_artifacts, Path(local.artifacts), build.log_dir, MAX_ARTIFACT_BYTES
        )
        if left_out:
            build.console.line(
                f"--- artifacts: {left_out} file(s) left out (beyond "
                f"{MAX_ARTIFACT_BYTES >> 20} MiB in all, unreadable, or a name too long)"
            )
        return copied

    async def _finish(
        self,
        build: _Build,
        result: BuildResult,
        detail: str | None,
        on_finished: FinishedHook | None,
    ) -> BuildOutcome:
        finished_at = self._clock()
        lost = build.console.failure
        if lost is not None and result is not BuildResult.CANCELED:
            result = BuildResult.ERROR  # no verdict from a build whose log is lost
            detail = f"cannot write the build's console in {build.log_dir}: {lost.strerror or lost}"
        detail = build.mask(detail) if detail else None
        duration = format_duration(finished_at - build.started_at)
        build.console.line(
            f"--- result: {result} in {duration}" + (f" ({detail})" if detail else "")
        )
        note = await build.node.ended(build.request, result)
        if note:
            build.console.line(note)
        if result is not BuildResult.SUCCESS and self._keep_failed:
            build.node.keep_work_dir = True
            build.console.line(f"--- the work directory is kept: {build.node.work_dir}")
        try:
            write_build_json(build.log_dir, self._record(build, result, detail, finished_at))
        except OSError as error:
            log.error("build %s: cannot write build.json: %s", build.request.build_id, error)
        outcome = BuildOutcome(
            build_id=build.request.build_id,
            result=result,
            started_at=build.started_at,
            finished_at=finished_at,
            log_url=build.log_url,
            detail=detail,
            node=build.node.name,
            source_away=build.source_away and result is BuildResult.ERROR,
        )
        if on_finished is not None:
            await on_finished(outcome)
        return outcome

    def _open(
        self, request: BuildRequest, node: Node, mask: Masker, listeners: Sequence[LineSink]
    ) -> _Build:
        relative = log_path(request)
        log_dir = self.logs_root.joinpath(*relative.parts)
        if self._console_hub is not None:
            hub, build_id = self._console_hub, request.build_id
            listeners = [*listeners, lambda _line: hub.wrote(build_id)]
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            console = ConsoleLog(log_dir / CONSOLE_LOG, mask, listeners, self._clock)
        except OSError as error:
            raise NodeError(f"cannot write the build's logs in {log_dir}: {error}") from error
        return _Build(request, node, log_dir, log_url(relative), self._clock(), console, mask)

    def _header(self, build: _Build) -> None:
        request = build.request
        event = request.event
        lines = [
            f"crosscheck build {request.build_id} (attempt {request.attempt})",
            f"job:      {request.job.name}",
            f"pipeline: {request.pipeline}",
            f"node:     {build.node.name}",
            f"project:  {request.project}",
        ]
        if event.change is not None and event.patchset is not None:
            change, patchset = event.change, event.patchset
            lines.append(f"change:   {change.number},{patchset.number} {change.url}".rstrip())
            ref = patchset_ref(change.number, patchset)
            lines.append(f"refspec:  {ref} onto {change.branch}")
        elif event.ref_update is not None:
            lines.append(f"ref:      {event.ref_update.ref} at {event.ref_update.new_rev}")
        elif event.timer is not None:
            scheduled = datetime.fromtimestamp(event.created_on, UTC).strftime("%Y-%m-%d %H:%M")
            lines.append(f"ref:      {event.timer.ref} (its tip, scheduled {scheduled} UTC)")
        lines.append(f"event:    {event.type}")
        build.console.lines(lines)

    def _record(
        self,
        build: _Build,
        result: BuildResult | None,
        detail: str | None,
        finished_at: float | None,
    ) -> dict[str, Any]:
        request, event = build.request, build.request.event
        workspace = build.workspace
        return {
            "build_id": request.build_id,
            "attempt": request.attempt,
            "pipeline": request.pipeline,
            "job": request.job.name,
            "voting": request.job.voting,
            "node": build.node.name,
            "connection": request.connection_name,
            "project": request.project,
            "event": str(event.type),
            "change": event.change.number if event.change else None,
            "patchset": event.patchset.number if event.patchset else None,
            "branch": _branch(event),
            "ref": event.ref,
            "revision": workspace.main.revision if workspace else None,
            "required_projects": {
                c.project: c.revision for c in (workspace.required if workspace else ())
            },
            **_scenario_record(request),
            "result": str(result) if result else None,
            "detail": detail,
            "started_at": build.started_at,
            "finished_at": finished_at,
            "duration": None if finished_at is None else finished_at - build.started_at,
            "log_url": build.log_url,
            "steps": [
                {
                    "number": s.number,
                    "command": build.mask(s.command),
                    "exit_status": s.exit_status,
                    "duration": s.duration,
                }
                for s in build.steps
            ],
            **build.extra,
        }

    def _passwords(self, request: BuildRequest) -> dict[str, str | None]:
        """The HTTP passwords the build fetches with, by connection: its own, or those
        of its candidate's components (never another connection's: one that cannot be
        read must not refuse builds that do not use it)."""
        return {
            name: http_password(connection)
            for name, connection in used_connections(request).items()
        }

    async def _refused(
        self,
        request: BuildRequest,
        detail: str,
        on_finished: FinishedHook | None,
        result: BuildResult = BuildResult.ERROR,
    ) -> BuildOutcome:
        """A build that never got as far as a console: the outcome says why."""
        log.warning("build %s: %s: %s", request.build_id, result, detail)
        now = self._clock()
        outcome = BuildOutcome(
            request.build_id, result, now, now, log_url(log_path(request)), detail
        )
        if on_finished is not None:
            await on_finished(outcome)
        return outcome


def _branch(event: Event) -> str | None:
    if event.change is not None:
        return event.change.branch
    return event.timer.branch if event.timer is not None else None


def _make_dirs(*directories: PurePosixPath) -> None:
    for directory in directories:
        Path(directory).mkdir(parents=True, exist_ok=True)


def _scenario_record(request: BuildRequest) -> dict[str, Any]:
    """The versions a build in a scenario was planned with, and what was merged."""
    versions = request.scenario
    if versions is None:
        return {}
    return {
        "scenario": {
            "name": versions.scenario,
            "candidate": versions.candidate,
            "level": versions.level,
            "components": {c.name: c.sha for c in versions.components},
            "depends_on": [d.label for d in request.context.dependencies if not d.merged],
        }
    }


def _commit_message(event: Event) -> str:
    return event.change.commit_message if event.change is not None else ""
