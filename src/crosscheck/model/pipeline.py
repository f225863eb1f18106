"""Pipelines: which events enqueue items, how items are managed, how results are reported."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Manager(StrEnum):
    #: Every item runs on its own (check).
    INDEPENDENT = "independent"
    #: Only the newest item per project and branch runs; older ones are dropped (post, periodic).
    SUPERCEDENT = "supercedent"


class Notify(StrEnum):
    NONE = "NONE"
    OWNER = "OWNER"
    OWNER_REVIEWERS = "OWNER_REVIEWERS"
    ALL = "ALL"


#: What Gerrit puts before a review comment's text: "Patch Set 2: Code-Review+1\n\n".
_COMMENT_PREFIX = r"(?i)^(Patch Set [0-9]+:)?( [\w\\+-]*)*(\n\n)?\s*"


#: Where `run <run_name>` ends: `run acme` must not start the CI named `acme-arm`, whose
#: `run acme-arm` a plain word boundary would also match.
_NAME_END = r"(?![\w-])"


def recheck_pattern(run_name: str) -> str:
    """OpenStack's recheck expression, also accepting `run <run_name>` for this CI alone."""
    return _COMMENT_PREFIX + rf"(recheck\b|run[ -]+{re.escape(run_name)}{_NAME_END})"


def run_pattern(run_name: str) -> str:
    """`run <run_name>` alone: accepted beside any comment pattern an operator writes."""
    return _COMMENT_PREFIX + rf"run[ -]+{re.escape(run_name)}{_NAME_END}"


@dataclass(frozen=True)
class GerritTrigger:
    """Events from one Gerrit connection that enqueue an item; every set field must match."""

    connection: str
    events: frozenset[str]
    project: re.Pattern[str] | None = None
    branch: re.Pattern[str] | None = None
    ref: re.Pattern[str] | None = None
    comment: re.Pattern[str] | None = None
    #: `run <run_name>`, accepted whatever `comment` says (None: a trigger on approvals).
    run_comment: re.Pattern[str] | None = None
    username: re.Pattern[str] | None = None
    email: re.Pattern[str] | None = None
    approvals: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TimerTrigger:
    """A cron schedule (five fields, UTC) that enqueues the branch tips of every project
    with jobs in the pipeline: the branches named, else each project's HEAD branch."""

    cron: str
    branches: tuple[str, ...] = ()


Trigger = GerritTrigger | TimerTrigger


@dataclass(frozen=True)
class ReportAction:
    """What to send to one connection at one moment of an item's life."""

    connection: str
    labels: Mapping[str, int] = field(default_factory=dict)
    comment: bool = True
    notify: Notify = Notify.OWNER


@dataclass(frozen=True)
class CandidateSource:
    """A pipeline whose items are promotion candidates: the one `level` of `scenario`
    holds (without a level: the scenario's newest candidate), tested with `jobs` when
    the pipeline's timer fires and, with `on_move`, each time the level moves to a new
    candidate (without a level: each time a candidate is made). A candidate is tested
    once per pipeline."""

    scenario: str
    level: str | None
    jobs: tuple[str, ...]
    on_move: bool = False


@dataclass(frozen=True)
class Pipeline:
    name: str
    manager: Manager
    triggers: tuple[Trigger, ...]
    description: str = ""
    skip_wip: bool = True
    skip_private: bool = True
    #: Events on a patchset that is no longer the change's newest enqueue nothing.
    current_patchset_only: bool = True
    start: tuple[ReportAction, ...] = ()
    success: tuple[ReportAction, ...] = ()
    failure: tuple[ReportAction, ...] = ()
    #: A voting job's patchset does not merge onto its branch (config: failure's reporters).
    merge_conflict: tuple[ReportAction, ...] = ()
    #: The attempts of a voting job ran out on infrastructure errors, and no voting job
    #: failed for real (config: failure's connections with the message and no labels).
    error: tuple[ReportAction, ...] = ()
    #: Set for a pipeline whose items are promotion candidates.
    candidates: CandidateSource | None = None

    @property
    def reports(self) -> bool:
        return bool(self.start or self.success or self.failure or self.merge_conflict or self.error)

    @property
    def timers(self) -> tuple[TimerTrigger, ...]:
        return tuple(t for t in self.triggers if isinstance(t, TimerTrigger))

    @property
    def timer_only(self) -> bool:
        """Triggered only by timers: its items are branch tips, never changes."""
        return bool(self.triggers) and len(self.timers) == len(self.triggers)
