"""Builds: what the scheduler asks the executor to run, and how it went."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import PROMOTION, Event, PatchSet
from crosscheck.model.item_context import ItemContext, ScenarioVersions
from crosscheck.model.job import Job

#: Build ids become a directory name and part of a URL: keep them plain.
BUILD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class BuildResult(StrEnum):
    SUCCESS = "SUCCESS"
    #: A step exited non-zero.
    FAILURE = "FAILURE"
    #: The steps ran longer than the job's timeout; the whole process group was killed.
    TIMED_OUT = "TIMED_OUT"
    #: The patchset does not merge onto the branch tip; nothing ran.
    MERGE_CONFLICT = "MERGE_CONFLICT"
    #: The build was cancelled (a newer patchset superseded it, or an operator dequeued it).
    CANCELED = "CANCELED"
    #: The node could not run the build (no work directory, cannot start a process).
    NODE_FAILURE = "NODE_FAILURE"
    #: crosscheck could not prepare the build (Gerrit unreachable, a required project missing).
    ERROR = "ERROR"

    @property
    def retryable(self) -> bool:
        """Whether the build failed for infrastructure reasons, so another attempt may pass."""
        return self in (BuildResult.NODE_FAILURE, BuildResult.ERROR)


#: Seconds before the next attempt of a build that failed for the infrastructure, by the
#: number of the attempt that failed; the last one holds after it. A Gerrit restart or a
#: network blip takes tens of seconds to a few minutes: retrying at once only fails again.
RETRY_DELAYS = (30.0, 120.0, 300.0)
#: Seconds at most between the attempts of a build whose workspace could not be fetched
#: because Gerrit was away: tried until it is back, its vote at most a minute later.
SOURCE_AWAY_RETRY = 60.0
#: Each delay is spread by up to this fraction either way, so the builds one outage
#: failed together do not all come back in the same second.
RETRY_JITTER = 0.2


def retry_delay(
    failed_attempt: int, jitter: float, result: BuildResult = BuildResult.ERROR
) -> float:
    """Seconds to wait before retrying after attempt `failed_attempt` (from 1) failed for
    the infrastructure with `result`; `jitter` in [0, 1) spreads it (0.5 gives the
    nominal delay). A node lost once is out of rotation, so the next attempt goes to
    another at once; losing nodes again looks like more than one node: back off."""
    if result is BuildResult.NODE_FAILURE and failed_attempt == 1:
        return 0.0
    nominal = RETRY_DELAYS[min(max(failed_attempt, 1), len(RETRY_DELAYS)) - 1]
    return nominal * (1 + RETRY_JITTER * (2 * jitter - 1))


@dataclass(frozen=True)
class BuildRequest:
    """One attempt of one job for one item, as the scheduler hands it to the executor."""

    build_id: str
    attempt: int
    pipeline: str
    job: Job
    #: What triggered the item: carries the change, the patchset and who did it.
    event: Event
    #: How the executor fetches the project over git; secrets are referenced, never held.
    #: None for a candidate's build, whose components say where each lives.
    connection: GerritConnection | None
    #: A candidate's build: its components' connections, by name; any build's may
    #: fetch from those of its context (a scenario's components, Depends-On changes).
    connections: Mapping[str, GerritConnection] = field(default_factory=dict)
    #: What its item was planned with: Depends-On changes, scenarios' versions.
    context: ItemContext = field(default_factory=ItemContext)

    def __post_init__(self) -> None:
        if not BUILD_ID.match(self.build_id):
            raise ValueError(
                f"build id {self.build_id!r}: use letters, digits, '.', '_' and '-' (at most 100)"
            )
        if self.attempt < 1:
            raise ValueError(f"attempt {self.attempt}: attempts count from 1")
        if self.event.project is None and self.event.change is None:
            raise ValueError("the event names no project: nothing to check out")
        if self.connection is None and self.event.candidate is None:
            raise ValueError("only a candidate's build has no connection")

    @property
    def connection_name(self) -> str:
        return self.connection.name if self.connection is not None else PROMOTION

    @property
    def project(self) -> str:
        if self.event.change is not None:
            return self.event.change.project
        return self.event.project or ""

    @property
    def scenario(self) -> ScenarioVersions | None:
        """The versions of the scenario the job runs in, as its item was planned."""
        wanted = self.job.scenario
        return self.context.scenario(wanted.name, wanted.level) if wanted is not None else None

    @property
    def workspace_name(self) -> str:
        """The directory under the sources where steps run: the project's, or the
        scenario's, which holds every component."""
        versions = self.scenario
        return versions.scenario if versions is not None else self.project


@dataclass(frozen=True)
class BuildOutcome:
    """How a build ended. Times are seconds since the epoch (UTC)."""

    build_id: str
    result: BuildResult
    started_at: float
    finished_at: float
    #: The build's log directory, relative to the logs root and URL-quoted, ending in '/'.
    log_url: str
    #: Why it ended so, when the result alone does not say (the files that conflicted, say).
    detail: str | None = None
    node: str | None = None
    #: An ERROR because the server the workspace is fetched from (Gerrit) was away: not
    #: the build's fault, nor the change's; tried again until it is back.
    source_away: bool = False

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)


def format_duration(seconds: float) -> str:
    """`1h 02m 03s`, `3m 02s`, `5s`: the form third-party CI reports use."""
    total = round(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def change_ref(change: int, patchset: int) -> str:
    """Gerrit's ref of a patchset: `refs/changes/45/12345/2`."""
    return f"refs/changes/{change % 100:02d}/{change}/{patchset}"


def patchset_ref(change: int, patchset: PatchSet) -> str:
    """A patchset's ref as Gerrit sent it, else the one Gerrit gives every patchset (an
    event stored before refs were kept, a change looked up, carry none)."""
    return patchset.ref or change_ref(change, patchset.number)


def console_url(logs_url: str, build_id: str) -> str:
    """A build's console page. The app serving the logs at `<site>/logs` serves the
    consoles too (console/router.py), at `<site>/builds/<id>/console`: absolute when
    the logs' address is."""
    site = logs_url.removesuffix("/logs")
    return f"{site}/builds/{quote(build_id, safe='')}/console"
