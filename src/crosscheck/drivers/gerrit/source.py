"""A Gerrit connection as an event source: stream, catch-up and webhooks, into the intake.

The cursor (see `crosscheck.events.intake`) only moves for the stream and catch-up, which
see events in order; a webhook event may arrive while the stream is down, and
moving the cursor past the stream's gap would hide the gap from catch-up. When an
event from the stream fails, the stream is dropped so that catch-up, from a cursor
that never passed the failed event, delivers it again; one that keeps failing is
given up after a few tries rather than blocking every later event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from crosscheck.drivers.base import EventSink
from crosscheck.drivers.gerrit.catchup import MARGIN_SECONDS, missed_events
from crosscheck.drivers.gerrit.events import EventParseError, parse_line
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.stream import GerritStream, StreamSettings
from crosscheck.drivers.gerrit.watch import ChangeWatch
from crosscheck.metrics import events_received
from crosscheck.model.build import format_duration
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event, sameness_digest

log = logging.getLogger(__name__)

#: Gerrit sends this line when it dropped events because the subscriber read too slowly.
DROPPED_OUTPUT = "dropped-output"
#: Tries (first delivery plus catch-ups) before a failing event is given up.
MAX_EVENT_TRIES = 3
#: Seen events are kept this long, and always while catch-up may still return them.
SEEN_RETENTION = timedelta(days=7)
PRUNE_INTERVAL = 3600.0


class EventDeferredError(Exception):
    """An event from the stream failed; reconnecting lets catch-up deliver it again."""


class GerritEventSource:
    """Feeds one Gerrit's events into the intake, never losing one across outages."""

    def __init__(
        self,
        connection: GerritConnection,
        intake: EventSink,
        rest: GerritRestClient,
        settings: StreamSettings | None = None,
        *,
        on_back: Callable[[], None] | None = None,
        watch: ChangeWatch | None = None,
    ) -> None:
        self.connection = connection
        #: Called once a catch-up went through: Gerrit answers again, over SSH and REST.
        self.on_back = on_back
        self.intake = intake
        self.rest = rest
        self.stream = GerritStream(connection, self._on_line, self._catch_up, settings)
        self.catch_ups = 0
        #: What the stream said of each change, for the scheduler's planning.
        self.watch = watch if watch is not None else ChangeWatch()
        self._tries: dict[str, int] = {}

    async def run(self) -> None:
        if await self.intake.cursor(self.connection.name) is None:
            # A new CI starts from now; it does not replay the server's whole history.
            await self.intake.start_cursor(self.connection.name, time.time())
            log.info("gerrit %s: first start: events from now on", self.connection.name)
        pruner = asyncio.create_task(self._prune_forever())
        try:
            await self.stream.run()
        finally:
            pruner.cancel()

    async def submit(self, event: Event) -> bool:
        """Hand one event to the intake; whether it was new. A failure is logged and
        raised, so the caller (stream, catch-up, a webhook) has the event sent again."""
        try:
            new = await self.intake.submit(event)
        except Exception:
            log.exception(
                "gerrit %s: processing a %s event failed", self.connection.name, event.type
            )
            events_received.labels(self.connection.name, event.origin.value, "failed").inc()
            raise
        self._tries.pop(sameness_digest(event), None)
        self.watch.observe(event)
        outcome = "new" if new else "duplicate"
        events_received.labels(self.connection.name, event.origin.value, outcome).inc()
        if not event.known:
            log.info("gerrit %s: event of unknown type %r", self.connection.name, event.type)
        return new

    async def _on_line(self, line: str) -> None:
        try:
            event = parse_line(line, self.connection.name)
        except EventParseError as error:
            log.warning(
                "gerrit %s: skipped a malformed line (%s): %r",
                self.connection.name,
                error,
                line[:2000],
            )
            return
        if event.type == DROPPED_OUTPUT:
            log.warning(
                "gerrit %s: Gerrit dropped stream output; catching up", self.connection.name
            )
            self.watch.lost()
            await self._catch_up()
            return
        await self._submit_or_defer(event)

    async def _submit_or_defer(self, event: Event) -> None:
        try:
            await self.submit(event)
        except Exception as error:
            if not self._give_up(event):
                raise EventDeferredError(
                    f"{event.type} event failed ({error}); catching up"
                ) from error

    def _give_up(self, event: Event) -> bool:
        """Count a failed try of the event, whichever path brought it; whether that was
        the last one (it is then logged and dropped, so later events can go on)."""
        key = sameness_digest(event)
        tries = self._tries[key] = self._tries.get(key, 0) + 1
        if tries < MAX_EVENT_TRIES:
            return False
        del self._tries[key]
        log.error(
            "gerrit %s: gave up on a %s event after %d tries: %s",
            self.connection.name,
            event.type,
            tries,
            event.key,
        )
        return True

    async def _catch_up(self) -> None:
        """Runs when the stream (re)connects. A failure raises, so the stream reconnects and
        tries again, instead of reading on while the outage window stays unrecovered."""
        since = await self.intake.cursor(self.connection.name)
        if since is None:
            self.watch.went_live(self.stream)
            return
        started = await self.intake.history_start(self.connection.name)
        log.info("gerrit %s: catching up since %s", self.connection.name, _utc(since))
        events = await missed_events(self.rest, self.connection.name, since, not_before=started)
        new: list[Event] = []
        for event in events:
            try:
                if await self.submit(event):
                    new.append(event)
            except Exception:
                if not self._give_up(event):
                    raise
        self.catch_ups += 1
        self.watch.went_live(self.stream)
        if self.on_back is not None:
            self.on_back()
        log.info(
            # The read starts MARGIN_SECONDS early, to overlap the stream: its count
            # is not what happened during the outage.
            "gerrit %s: caught up since %s: %d event(s) read from up to %s before it, %d new%s",
            self.connection.name,
            _utc(since),
            len(events),
            format_duration(MARGIN_SECONDS),
            len(new),
            self._own_share(new),
        )

    def _own_share(self, events: list[Event]) -> str:
        """How many of `events` the CI caused itself (its votes): they trigger nothing,
        and an operator reading "1 new" would otherwise look for a build."""
        own = sum(1 for e in events if self.connection.ignores_as_own(e.account))
        return f" ({own} by the CI's own account {self.connection.user}, ignored)" if own else ""

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_INTERVAL)
            try:
                await self.prune()
            except Exception:
                log.exception("gerrit %s: pruning seen events failed", self.connection.name)

    async def prune(self) -> int:
        """Forget seen events that neither the stream nor catch-up can deliver again."""
        cursor = await self.intake.cursor(self.connection.name) or time.time()
        pruned = await self.intake.prune(
            self.connection.name, SEEN_RETENTION, before=cursor - 2 * MARGIN_SECONDS
        )
        if pruned:
            log.info("gerrit %s: forgot %d old seen event(s)", self.connection.name, pruned)
        return pruned


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
