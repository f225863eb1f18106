"""A Gerrit connection as an event source: stream, catch-up and webhooks, into the intake."""

from __future__ import annotations

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

    async def submit(self, event: Event, *, raise_errors: bool = False) -> bool:
        """Hand one event to the intake. A failure is logged; with `raise_errors` it is also
        raised, so the caller (catch-up, a webhook) can have the event delivered again."""
        try:
            new = await self.intake.submit(event)
        except Exception:
            log.exception(
                "gerrit %s: processing a %s event failed", self.connection.name, event.type
            )
            if raise_errors:
                raise
            return False
        outcome = "new" if new else "duplicate"
        events_received.labels(self.connection.name, event.origin.value, outcome).inc()
        if not event.known:
            log.info("gerrit %s: event of unknown type %r", self.connection.name, event.type)
        return new

    async def submit_webhook(self, payload: object) -> bool:
        """An event POSTed by Gerrit's webhooks plugin."""
        event = parse_event(payload, self.connection.name, Origin.WEBHOOK)
        return await self.submit(event, raise_errors=True)

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
        """Runs when the stream (re)connects. A failure raises, so the stream reconnects and
        tries again, instead of reading on while the outage window stays unrecovered."""
        since = await self.intake.cursor(self.connection.name)
        if since is None:
            return
        events = await missed_events(self.rest, self.connection.name, since)
        self.catch_ups += 1
        new = 0
        for event in events:
            new += await self.submit(event, raise_errors=True)
        log.info(
            "gerrit %s: caught up from %.0f: %d event(s), %d new",
            self.connection.name,
            since,
            len(events),
            new,
        )
