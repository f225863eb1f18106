"""A whole, valid configuration: the aggregate the scheduler runs from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from crosscheck.model.connection import GerritConnection
from crosscheck.model.job import Job
from crosscheck.model.node import DEFAULT_CHECK_INTERVAL, Lab
from crosscheck.model.pipeline import Pipeline
from crosscheck.model.project import Project

if TYPE_CHECKING:
    # Only named: a configuration without scenarios never loads the promotion model.
    from crosscheck.model.scenario import Scenario

#: A report is retried for a day before it is given up (`report_give_up_after`).
DEFAULT_REPORT_GIVE_UP_AFTER = 24 * 3600


@dataclass(frozen=True)
class CISettings:
    """Who this CI is in its reports, and how long its reports are retried."""

    name: str = "crosscheck"
    #: `run <run_name>` in a review comment re-runs this CI's jobs only.
    run_name: str = "crosscheck"
    info_url: str | None = None
    #: Where the results service's admin token is (referenced, never held).
    admin_token_env: str | None = None
    admin_token_file: Path | None = None
    #: Seconds after which a report that could not be delivered is given up.
    report_give_up_after: int = DEFAULT_REPORT_GIVE_UP_AFTER


@dataclass(frozen=True)
class NodeLabel:
    name: str
    description: str = ""


DEFAULT_SLOTS = 2
DEFAULT_LOG_RETENTION_DAYS = 30
DEFAULT_KILL_GRACE = 10
#: Seconds a git transfer from Gerrit may receive nothing before it is ended as an
#: ERROR (tried again later) rather than held to git's 10-minute limit. A connection
#: nobody answers on any more (a NAT entry dropped, a server hung) would otherwise hold
#: the mirror's fetch, and every build of the project waiting on it. Zuul's mergers give
#: up after 30 s under 1,000 bytes a second; here only a transfer that stopped is ended,
#: never a slow one, and a minute lets a long Java GC pause pass.
DEFAULT_GIT_STALL_TIME = 60
#: Bytes a build may use on this host's disk (its work directory on a local slot, its
#: log directory everywhere) before it is stopped: 20 GiB, against a runaway build
#: filling the disk that holds the store and every build's logs.
DEFAULT_DISK_LIMIT = 20 << 30
#: How this host's own slots confine a build's steps (executor/confinement.py).
Confine = Literal["auto", "bubblewrap", "none"]
#: At most git's own limit on a command (executor/git.py's GIT_TIMEOUT).
MAX_GIT_STALL_TIME = 600


@dataclass(frozen=True)
class ExecutorSettings:
    """Where builds run on this machine and where their logs are kept.

    A path left None means the default under crosscheck's state or cache directory,
    which the executor resolves at run time (the model does no I/O).
    """

    #: Builds running at once on the local node provider.
    slots: int = DEFAULT_SLOTS
    work_root: Path | None = None
    logs_root: Path | None = None
    git_cache: Path | None = None
    keep_failed_workspaces: bool = False
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    #: Seconds between SIGTERM and SIGKILL when a build's processes are stopped.
    kill_grace: int = DEFAULT_KILL_GRACE
    #: Labels the local slots provide; None: every label when no node or POD is
    #: configured, none otherwise (config/nodes.py).
    labels: tuple[str, ...] | None = None
    #: Seconds between health checks of each SSH node.
    node_check_interval: int = DEFAULT_CHECK_INTERVAL
    #: Seconds a git transfer may stall before it is ended (DEFAULT_GIT_STALL_TIME).
    git_stall_time: int = DEFAULT_GIT_STALL_TIME
    #: Bytes a build may use here before it is stopped (DEFAULT_DISK_LIMIT); 0: no limit.
    disk_limit: int = DEFAULT_DISK_LIMIT
    #: bubblewrap when it works here (`auto`), always (`bubblewrap`), or never (`none`).
    confine: Confine = "auto"


DEFAULT_RESULTS_RATE = 10.0
DEFAULT_RESULTS_BURST = 100
#: Results reported as older than a week are refused (`max_result_age`), in seconds.
DEFAULT_MAX_RESULT_AGE = 7 * 86400


@dataclass(frozen=True)
class ResultsConfig:
    """The results service inside `crosscheck serve`, and where job results are reported.

    With `url` None, results go to the embedded service (when it is served) at the
    service's own public address; `token_*` None there means serve mints its own.
    """

    #: Serve the results service (API, verify-status routes, pages) in `crosscheck serve`.
    serve: bool = True
    public_reads: bool = True
    #: Writes per second per CI account on average, and the burst allowed.
    rate: float = DEFAULT_RESULTS_RATE
    burst: int = DEFAULT_RESULTS_BURST
    #: Seconds: results reported as older are refused.
    max_result_age: int = DEFAULT_MAX_RESULT_AGE
    #: The pages' settings file (expected CIs, Gerrit's address).
    pages: Path | None = None
    #: The read-only token of a Checks tab plugin, when reads are private.
    read_token_env: str | None = None
    read_token_file: Path | None = None
    #: Report each item's job results to a results service.
    report: bool = True
    url: str | None = None
    #: The CI account results are reported as (the `ci` name unless given).
    account: str = "crosscheck"
    token_env: str | None = None
    token_file: Path | None = None

    @property
    def reporting(self) -> bool:
        """Results are reported somewhere: to a given url, or to the embedded service."""
        return self.report and (self.serve or self.url is not None)

    @property
    def reports_to_itself(self) -> bool:
        """Results go to the embedded service: serve may create its account and token."""
        return self.report and self.serve and self.url is None

    def report_url(self, own_url: str) -> str | None:
        """Where results are reported, given this serve's public URL; None: nowhere."""
        if not self.reporting:
            return None
        return self.url or own_url


@dataclass(frozen=True)
class Config:
    ci: CISettings = field(default_factory=CISettings)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    results: ResultsConfig = field(default_factory=ResultsConfig)
    connections: Mapping[str, GerritConnection] = field(default_factory=dict)
    labels: Mapping[str, NodeLabel] = field(default_factory=dict)
    #: The SSH nodes and PODs, and which labels the local slots provide.
    lab: Lab = field(default_factory=Lab)
    pipelines: Mapping[str, Pipeline] = field(default_factory=dict)
    jobs: Mapping[str, Job] = field(default_factory=dict)
    projects: tuple[Project, ...] = ()
    #: Scenarios of promotion, by name (docs/promotion.md).
    scenarios: Mapping[str, Scenario] = field(default_factory=dict)

    def projects_for(self, project: str) -> tuple[Project, ...]:
        """The project entries that apply to a Gerrit project, exact names first."""
        exact = tuple(p for p in self.projects if not p.is_regex and p.matches(project))
        return exact + tuple(p for p in self.projects if p.is_regex and p.matches(project))

    def jobs_for(self, project: str, connection: str, pipeline: str) -> list[Job]:
        """The jobs a Gerrit project on a connection runs in a pipeline: those of every
        entry that applies, exact names first, each job once (the first entry's wins)."""
        jobs: dict[str, Job] = {}
        for entry in self.projects_for(project):
            if entry.connection in (None, connection):
                for job in entry.pipelines.get(pipeline, ()):
                    jobs.setdefault(job.name, job)
        return list(jobs.values())
