"""Timer snapshots: a scenario with `snapshot: CRON` gets a candidate of its components'
refs at each scheduled time (UTC), as `crosscheck candidate create` would make it.

Its own cursor in the intake's table remembers the last pass, so a time missed while
serve was down is taken once at the next start (not once per missed tick), and a new
scenario starts from now. A snapshot that cannot be taken (a server away) is said at
WARNING and taken at the next tick. The task sleeps until the next scheduled time
(with no scenario scheduled, without a timer), or until `wake` says the configuration
was reloaded: an edited schedule counts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from crosscheck.drivers.base import EventSink
from crosscheck.drivers.timer.schedule import latest_tick, next_tick
from crosscheck.model.candidate import CandidateOrigin
from crosscheck.model.scenario import Scenario
from crosscheck.promotion.candidates import CandidateMaker
from crosscheck.promotion.versions import VersionsError

log = logging.getLogger(__name__)

#: The cursor's name among the event sources' (no connection has an `@` in its name).
CURSOR = "@promotion-snapshots"
#: Seconds before a pass that failed (the store away) is tried again.
RETRY = 60.0


class Snapshots:
    def __init__(
        self,
        maker: CandidateMaker,
        cursors: EventSink,
        scenarios: Callable[[], Mapping[str, Scenario]],
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.maker = maker
        self.cursors = cursors
        self.scenarios = scenarios
        self.now = now
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Run a pass now: the configuration was reloaded, its schedules may be new."""
        self._woken.set()

    async def run(self) -> None:
        if await self.cursors.cursor(CURSOR) is None:
            await self.cursors.start_cursor(CURSOR, self.now())
        while True:
            self._woken.clear()  # before the pass reads the schedules
            try:
                delay = await self.take_due()
            except Exception:  # the store away, say: try again after a while
                log.exception("promotion: a snapshot pass failed")
                delay = RETRY
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), delay)

    async def take_due(self) -> float | None:
        """Take the snapshots due since the last pass; the seconds until the next one
        (None: no scenario is scheduled)."""
        now = self.now()
        since = await self.cursors.cursor(CURSOR) or now
        scheduled = {n: s.snapshot for n, s in self.scenarios().items() if s.snapshot}
        for name, cron in sorted(scheduled.items()):
            if latest_tick(cron, since, now) is not None:
                await self._take(name)
        await self.cursors.advance_cursor(CURSOR, now)
        upcoming = [next_tick(cron, now) for cron in scheduled.values()]
        return max(0.0, min(upcoming) - self.now()) if upcoming else None

    async def _take(self, scenario: str) -> None:
        try:
            record, new = await self.maker.create(scenario, {}, CandidateOrigin.TIMER)
        except VersionsError as error:
            log.warning("promotion: no snapshot of %s now: %s", scenario, error)
            return
        said = "a new candidate" if new else "no change since candidate"
        log.info("promotion: snapshot of %s: %s %s", scenario, said, record.id[:12])
