"""The states of items and builds, the moves allowed between them, and the record of a
move that subscribers (live status, promotion, the Checks tab) receive.

The values are the strings the store has always held, so the enums read and write the
same rows as before. An item is created `new` and a build `waiting`; every later
change of state is one of the moves in `ITEM_TRANSITIONS` and `BUILD_TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ItemState(StrEnum):
    #: Enqueued; its jobs are not chosen yet (a supercedent item waits here for its turn).
    NEW = "new"
    #: Its builds exist and run; it is reported once they all ended.
    RUNNING = "running"
    #: Reported (or nothing to report: no job applied).
    FINISHED = "finished"
    #: Not worth building once planned: the change closed, or a newer patchset came.
    SKIPPED = "skipped"
    #: Replaced by a newer patchset, or by a newer item of its branch.
    SUPERSEDED = "superseded"
    #: Ended by an operator, or by its change's abandon or merge.
    DEQUEUED = "dequeued"


class BuildState(StrEnum):
    #: Created; starts once a node is free and its not-before time (a retry's) has come.
    WAITING = "waiting"
    #: On a node.
    RUNNING = "running"
    #: Ended with a result (a result of the infrastructure's may bring another attempt).
    FINISHED = "finished"
    #: Found running after a restart; its next attempt, if any, is another build.
    INTERRUPTED = "interrupted"
    #: Its item ended early (superseded, dequeued).
    CANCELED = "canceled"


#: Items still moving: the scheduler plans or watches them; the others have ended.
ACTIVE_ITEM_STATES = frozenset({ItemState.NEW, ItemState.RUNNING})
#: Builds that may still run.
LIVE_BUILD_STATES = frozenset({BuildState.WAITING, BuildState.RUNNING})

#: How an item ends before its report: a newer one replaced it, or it was dequeued.
ENDED_EARLY_STATES = frozenset({ItemState.SUPERSEDED, ItemState.DEQUEUED})

#: Each state's possible next states. Planning moves a new item on (to running, or
#: straight to finished or skipped); a running one finishes with its report; an active
#: one can always be ended early. Ended states are final.
ITEM_TRANSITIONS: Mapping[ItemState, frozenset[ItemState]] = {
    ItemState.NEW: frozenset({ItemState.RUNNING, ItemState.FINISHED, ItemState.SKIPPED})
    | ENDED_EARLY_STATES,
    ItemState.RUNNING: frozenset({ItemState.FINISHED}) | ENDED_EARLY_STATES,
    ItemState.FINISHED: frozenset(),
    ItemState.SKIPPED: frozenset(),
    ItemState.SUPERSEDED: frozenset(),
    ItemState.DEQUEUED: frozenset(),
}

#: A waiting build may end without having started (the executor gave up before a node
#: ran it, its job vanished); an interrupted one is finished with an error when its
#: job has no attempt left. A retry is a new build, created waiting.
BUILD_TRANSITIONS: Mapping[BuildState, frozenset[BuildState]] = {
    BuildState.WAITING: frozenset({BuildState.RUNNING, BuildState.FINISHED, BuildState.CANCELED}),
    BuildState.RUNNING: frozenset(
        {BuildState.FINISHED, BuildState.CANCELED, BuildState.INTERRUPTED}
    ),
    BuildState.INTERRUPTED: frozenset({BuildState.FINISHED}),
    BuildState.FINISHED: frozenset(),
    BuildState.CANCELED: frozenset(),
}


def check_item_move(from_state: ItemState, to_state: ItemState) -> None:
    """Raise ValueError unless an item may move from `from_state` to `to_state`."""
    if to_state not in ITEM_TRANSITIONS[from_state]:
        raise ValueError(f"an item cannot move from '{from_state}' to '{to_state}'")


def check_build_move(from_state: BuildState, to_state: BuildState) -> None:
    """Raise ValueError unless a build may move from `from_state` to `to_state`."""
    if to_state not in BUILD_TRANSITIONS[from_state]:
        raise ValueError(f"a build cannot move from '{from_state}' to '{to_state}'")


@dataclass(frozen=True)
class ItemTransition:
    """An item changed state (or was created: `from_state` None), once committed."""

    item_id: int
    pipeline: str
    connection: str
    project: str
    #: None for an item of a branch tip (a timer's, a ref update's).
    change: int | None
    patchset: int | None
    from_state: ItemState | None
    to_state: ItemState
    at: datetime
    #: Why it moved, in the store's words ("patchset 3 superseded it"), if it says.
    detail: str | None = None


@dataclass(frozen=True)
class BuildTransition:
    """A build changed state (or was created: `from_state` None), once committed."""

    build_id: str
    item_id: int
    pipeline: str
    job: str
    attempt: int
    from_state: BuildState | None
    to_state: BuildState
    at: datetime
    #: SUCCESS, FAILURE, ... once it ended.
    result: str | None = None
    #: A retry's earliest start, when it backs off.
    not_before: datetime | None = None


Transition = ItemTransition | BuildTransition
