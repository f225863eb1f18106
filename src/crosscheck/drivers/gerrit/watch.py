"""What the stream said of each change lately: open, and which patchset is current.

Gerrit's stream says when a patchset is uploaded and when a change closes, in order.
The scheduler plans an item a few milliseconds after its upload comes in; when the
stream has been connected and caught up without a gap since, with every line it sent
taken in, and the upload is fresh (Gerrit made the event moments before it came, and
it came moments ago), the watch vouches that the patchset is current and the change
open, and planning skips asking Gerrit again: one REST read less per change for the
upstream Gerrit, and 20-50 ms less planning (bench/README.md; the build then waits
for its fetch instead, so push -> vote gains little). It answers only that case, and
only positively: anything else (an unknown or closed change, a newer patchset, a gap,
lines not taken in yet, an upload that came late or a while ago) is None, and the
caller reads the change.

Freshness bounds what a stream that lags without dropping (a stalled network, a busy
Gerrit) could hide: an abandon or a newer patchset in the moments between the upload
and its planning. Such a build is then canceled when the event comes, and its report
reads the change before it votes, as every report does: the watch never spares that
read, since Gerrit takes a vote on an outdated patchset and the stream may not have
said yet that a newer one came.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from crosscheck.model.event_types import EventType
from crosscheck.model.events import CLOSING_EVENTS, Event

#: Changes remembered; the oldest are forgotten first (their callers then read Gerrit).
MAX_CHANGES = 50_000
#: Seconds between Gerrit making an upload's event and the stream bringing it, beyond
#: which the stream lags: Gerrit's times are whole seconds, and clocks drift a little.
FRESH_EVENT = 5.0
#: Seconds after an upload came within which its planning may take the watch's word.
FRESH_UPLOAD = 2.0


class WatchedStream(Protocol):
    """What the watch asks of the stream: connected, in which connection, lines waiting."""

    @property
    def live(self) -> bool: ...

    @property
    def connects(self) -> int: ...

    @property
    def waiting_lines(self) -> int: ...


@dataclass(slots=True)
class _Seen:
    patchset: int
    revision: str
    open: bool
    #: time.monotonic() when this patchset's upload was taken in.
    since: float
    #: Whether the upload's event came moments after Gerrit made it (FRESH_EVENT).
    came_fresh: bool


class ChangeWatch:
    def __init__(self, max_changes: int = MAX_CHANGES) -> None:
        self.max_changes = max_changes
        self._changes: OrderedDict[int, _Seen] = OrderedDict()
        self._stream: WatchedStream | None = None
        #: The stream's connection whose catch-up ended, and when (time.monotonic()).
        self._live_connects = -1
        self._live_since = float("inf")

    def went_live(self, stream: WatchedStream) -> None:
        """The stream is connected and caught up: from now on, nothing was missed."""
        self._stream = stream
        self._live_connects = stream.connects
        self._live_since = time.monotonic()

    def lost(self) -> None:
        """Gerrit dropped lines: nothing seen before is trusted until the next catch-up."""
        self._live_since = float("inf")

    def observe(self, event: Event) -> None:
        """Take in an event the intake accepted, in the stream's order."""
        if event.change is None:
            return
        number = event.change.number
        seen = self._changes.get(number)
        if event.type == EventType.PATCHSET_CREATED and event.patchset is not None:
            if seen is None or event.patchset.number > seen.patchset:
                ps = event.patchset
                fresh = abs(time.time() - event.created_on) <= FRESH_EVENT
                self._remember(number, _Seen(ps.number, ps.revision, True, time.monotonic(), fresh))
        elif seen is not None and event.type in CLOSING_EVENTS:
            seen.open = False

    def current_patchset(self, change: int, revision: str) -> int | None:
        """The patchset number of `revision` when the stream vouches that it is the
        current patchset of an open change, uploaded moments ago; None when the caller
        should ask Gerrit."""
        seen = self._changes.get(change)
        trusted = (
            seen is not None
            and seen.open
            and seen.came_fresh
            and seen.revision == revision
            and self._live_since <= seen.since >= time.monotonic() - FRESH_UPLOAD
            and self._unbroken()
        )
        return seen.patchset if trusted and seen is not None else None

    def _unbroken(self) -> bool:
        stream = self._stream
        return (
            stream is not None
            and stream.live
            and stream.connects == self._live_connects
            and stream.waiting_lines == 0
        )

    def _remember(self, number: int, seen: _Seen) -> None:
        self._changes[number] = seen
        self._changes.move_to_end(number)
        while len(self._changes) > self.max_changes:
            self._changes.popitem(last=False)
