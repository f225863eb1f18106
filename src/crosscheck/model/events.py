"""Events from a Gerrit server, typed, whichever way they arrived.

One `Event` class serves every type: the fields a type does not have are None or
empty. `key` identifies an event so that copies arriving by the stream, the
REST catch-up and webhooks are processed once. The timer makes events of its own
(`TIMER_EVENT`): a pipeline's scheduled run on one branch of one project.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from crosscheck.model.event_types import EventType

#: The type of the timer's events; not a Gerrit event, so no Gerrit trigger names it.
TIMER_EVENT = "timer"


class Origin(StrEnum):
    STREAM = "stream"
    CATCHUP = "catchup"
    WEBHOOK = "webhook"
    TIMER = "timer"
    #: A level moved: a pipeline of candidates takes the candidate it now holds.
    PROMOTION = "promotion"
    #: Enqueued by an operator (`crosscheck enqueue`), not delivered by Gerrit.
    OPERATOR = "operator"

    @property
    def in_order(self) -> bool:
        """Whether the source delivers a connection's events in order, so that it may
        move the connection's catch-up cursor (a webhook or the timer must not)."""
        return self in (Origin.STREAM, Origin.CATCHUP)


ZERO_REV = "0" * 40


@dataclass(frozen=True, slots=True)
class Account:
    name: str | None = None
    email: str | None = None
    username: str | None = None

    @property
    def identity(self) -> str:
        return self.username or self.email or self.name or ""

    @property
    def names(self) -> frozenset[str]:
        """The username and email, casefolded: what configurations name an account by."""
        return frozenset(n.casefold() for n in (self.username, self.email) if n)


@dataclass(frozen=True, slots=True)
class Change:
    project: str
    branch: str
    number: int
    change_id: str = ""
    subject: str = ""
    url: str = ""
    owner: Account | None = None
    topic: str | None = None
    status: str = "NEW"
    wip: bool = False
    private: bool = False
    commit_message: str = ""
    hashtags: tuple[str, ...] = ()

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


#: Statuses of a change that no longer takes patchsets: its builds are wasted work.
CLOSED_STATUSES = frozenset({"MERGED", "ABANDONED"})

#: Events that close a change, and the word for it: no build of a closed change is
#: worth finishing (the scheduler), nor is its patchset vouched for (the Gerrit watch).
#: A deleted change is as dead as an abandoned one: its build would be given up at the
#: report (Gerrit's 404) after running to its end.
CLOSING_EVENTS = {
    EventType.CHANGE_ABANDONED: "abandoned",
    EventType.CHANGE_MERGED: "merged",
    EventType.CHANGE_DELETED: "deleted",
}


@dataclass(frozen=True, slots=True)
class ChangeState:
    """A change as its server shows it now, for one revision the scheduler is about to
    build: whether that revision is still worth building."""

    status: str
    current_patchset: int
    current_revision: str
    #: The files of the revision asked about; None when that revision is not current
    #: (the source did not list them).
    files: tuple[str, ...] | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def is_current(self, revision: str) -> bool:
        return revision == self.current_revision


@dataclass(frozen=True, slots=True)
class PatchSet:
    number: int
    revision: str
    ref: str = ""
    parents: tuple[str, ...] = ()
    uploader: Account | None = None
    author: Account | None = None
    kind: str = ""
    created_on: int = 0


@dataclass(frozen=True, slots=True)
class Approval:
    label: str
    value: int
    old_value: int | None = None


@dataclass(frozen=True, slots=True)
class RefUpdate:
    project: str
    ref: str
    old_rev: str
    new_rev: str

    @property
    def deleted(self) -> bool:
        return self.new_rev == ZERO_REV

    @property
    def created(self) -> bool:
        return self.old_rev == ZERO_REV


@dataclass(frozen=True, slots=True)
class TimerTick:
    """What a timer event is about: one pipeline's scheduled run on one branch."""

    pipeline: str
    branch: str

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"


#: The connection name of candidate items: no Gerrit's, so no change, no review.
PROMOTION = "@promotion"
#: The type of crosscheck's own event: a pipeline takes a promotion candidate as its
#: item (not one of Gerrit's, so not an EventType).
CANDIDATE_EVENT = "candidate"


@dataclass(frozen=True, slots=True)
class CandidateComponent:
    """One component of a candidate, where its builds fetch it from, at its commit."""

    name: str
    sha: str
    connection: str | None = None
    project: str | None = None
    git_url: str | None = None


def version_variable(component: str) -> str:
    """The variable a candidate's build finds a component's commit in: its name upper-
    cased, anything but A-Z and 0-9 as `_` (`vpp-lib` -> CROSSCHECK_VERSION_VPP_LIB)."""
    return "CROSSCHECK_VERSION_" + re.sub(r"[^A-Z0-9]", "_", component.upper())


@dataclass(frozen=True, slots=True)
class CandidateItem:
    """What a candidate pipeline's event is about: one candidate, taken at one level."""

    id: str
    scenario: str
    level: str
    components: tuple[CandidateComponent, ...]

    @property
    def versions(self) -> dict[str, str]:
        return {c.name: c.sha for c in self.components}


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened on a Gerrit server."""

    type: str
    connection: str
    created_on: int
    project: str | None = None
    change: Change | None = None
    patchset: PatchSet | None = None
    #: Who caused it: uploader, author, submitter, abandoner, restorer, changer.
    account: Account | None = None
    comment: str | None = None
    approvals: tuple[Approval, ...] = ()
    ref_update: RefUpdate | None = None
    reviewer: Account | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    origin: Origin = Origin.STREAM
    #: Timer events only: the pipeline and branch; `created_on` is the scheduled time.
    timer: TimerTick | None = None
    #: Candidate events only (connection PROMOTION): the candidate a pipeline tests.
    candidate: CandidateItem | None = None
    #: When this process learned of it, on its own clock (0: unknown). A mirror fetch
    #: begun since sees the repository at least as the event left it; `created_on`
    #: cannot say that, being whole seconds on Gerrit's clock.
    received_at: float = field(default=0.0, compare=False)

    @property
    def known(self) -> bool:
        return self.type in EventType.__members__.values()

    @property
    def ref(self) -> str | None:
        if self.ref_update is not None:
            return self.ref_update.ref
        if self.timer is not None:
            return self.timer.ref
        return self.patchset.ref if self.patchset else None

    @property
    def key(self) -> str:
        """The same for every copy of one event, whichever way it arrived."""
        return "|".join(str(part) for part in (*self.sameness, self.created_on))

    @property
    def sameness(self) -> tuple[str, ...]:
        """What two copies share exactly; their times may differ by a second or so."""
        change = self.change.number if self.change else ""
        patchset = self.patchset.number if self.patchset else ""
        who = self.account.identity if self.account else ""
        text = hashlib.sha1((self.comment or "").encode(), usedforsecurity=False).hexdigest()[:12]
        return (
            self.connection,
            self.type,
            self.project or "",
            str(change),
            str(patchset),
            who,
            text,
            self._ref_sameness(),
            self._state_after(),
        )

    def _ref_sameness(self) -> str:
        if self.ref_update is not None:
            return f"{self.ref_update.ref}@{self.ref_update.new_rev}"
        if self.timer is not None:
            # Two pipelines' ticks at one time on one branch are two events.
            return f"{self.timer.pipeline}@{self.timer.ref}"
        if self.candidate is not None:
            return f"candidate@{self.candidate.id}"
        return ""

    def _state_after(self) -> str:
        """What a state-change event changed to: two topic changes by one user in one
        second are two events, not copies. Comment votes are left out on purpose: the
        stream lists every vote the author holds, the REST message only the new ones."""
        change = self.change
        match self.type:
            case EventType.REVIEWER_ADDED:
                return self.reviewer.identity if self.reviewer else ""
            case EventType.TOPIC_CHANGED:
                return f"{self.extra.get('oldTopic', '')}>{change.topic if change else ''}"
            case EventType.HASHTAGS_CHANGED:
                return f"+{self.extra.get('added', '')}-{self.extra.get('removed', '')}"
            case EventType.WIP_STATE_CHANGED:
                return str(change.wip) if change else ""
            case EventType.PRIVATE_STATE_CHANGED:
                return str(change.private) if change else ""
            case _:
                return ""


def sameness_digest(event: Event) -> str:
    """The event's sameness as one fixed-size key (the intake's index, a source's retries)."""
    return hashlib.sha256("\x1f".join(event.sameness).encode()).hexdigest()
