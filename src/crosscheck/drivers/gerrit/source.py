"""A Gerrit connection as an event source: stream, catch-up and webhooks, into the intake."""

from __future__ import annotations

import asyncio
import logging
import time

from crosscheck.drivers.gerrit.catchup import missed_events
from crosscheck.drivers.gerrit.events import EventParseError, parse_event, parse_line
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.drivers.gerrit.stream import GerritStream, StreamSettings
from crosscheck.intake import EventIntake
from crosscheck.metrics import events_received
from crosscheck.model.connection import GerritConnection
from crosscheck.model.events import Event, Origin

log = logging.getLogger(__name__)


class GerritEventSource:
    """Feeds one Gerrit's events into the intake, never losing one across outages."""

    def __init__(
        self,
        connection: GerritConnection,
        intake: EventIntake,
        rest: GerritRestClient,
        settings: StreamSettings | None = None,
    ) -> None:
        self.connection = connection
        self.intake = intake
        self.rest = rest
        self.stream = GerritStream(connection, self._on_line, self._catch_up, settings)
        self.catch_ups = 0

    async def run(self) -> None:
        if await self.intake.cursor(self.connection.name) is None:
            # A new CI starts from now; it does not replay the server's whole history.
            await self.intake.start_cursor(self.connection.name, time.time())
        await self.stream.run()

    async def submit(self, event: Event) -> bool:
        """Hand one event to the intake; bad events are logged, never raised."""
        try:
            new = await self.intake.submit(event)
        except Exception:
            log.exception(
                "gerrit %s: processing %s %s failed; it will come again by catch-up",
                self.connection.name,
                event.type,
                event.key,
            )
            return False
        outcome = "new" if new else "duplicate"
        events_received.labels(self.connection.name, event.origin.value, outcome).inc()
        if not event.known:
            log.info("gerrit %s: event of unknown type %r", self.connection.name, event.type)
        return new

    async def submit_webhook(self, payload: object) -> bool:
        """An event POSTed by Gerrit's webhooks plugin."""
        return await self.submit(parse_event(payload, self.connection.name, Origin.WEBHOOK))

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
        await self.submit(event)

    async def _catch_up(self) -> None:
        since = await self.intake.cursor(self.connection.name)
        if since is None:
            return
        try:
            events = await missed_events(self.rest, self.connection.name, since)
        except Exception:
            log.exception(
                "gerrit %s: catch-up failed; the next reconnect tries again", self.connection.name
            )
            return
        self.catch_ups += 1
        new = 0
        for event in events:
            new += await self.submit(event)
            await asyncio.sleep(0)  # let stream lines in between
        log.info(
            "gerrit %s: caught up from %.0f: %d event(s), %d new",
            self.connection.name,
            since,
            len(events),
            new,
        )
