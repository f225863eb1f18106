"""The timer as an event source: periodic pipelines' scheduled runs, into the intake.

Each pass reads the configuration in use, finds the timer rules due since the
timer's cursor, resolves their branch tips, submits one `timer` event per pipeline,
project and branch, and then moves the cursor to the pass's time. The event's
`created_on` is the scheduled time, so its key (pipeline, project, branch, time) is
the same in every process and after any restart: the intake processes each scheduled
run once, even when two processes fire it, or when a restart repeats a pass that died
halfway.

Between passes the timer sleeps until the earliest scheduled time of any rule (with
no rule configured, without a timer), or until `wake` says the configuration was
reloaded: a new schedule counts at once, and an idle serve has no periodic wake-up.

The cursor (`timer` in the intake's cursors) is the time up to which every
scheduled run was fired. A pass that fails leaves it where it was, so the next
pass tries again; after a few failed passes the tick is given up. When crosscheck
was not running at a scheduled time, each rule fires once at start for the
latest time it missed; earlier missed times are dropped, since the supercedent
manager would keep only the newest anyway. A first start begins from now.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from crosscheck.drivers.base import EventSink, ProjectSource
from crosscheck.drivers.timer.branches import BranchResolver, BranchTip
from crosscheck.drivers.timer.targets import Due, due_rules, next_due, targets
from crosscheck.metrics import events_received
from crosscheck.model.config import Config
from crosscheck.model.events import PROMOTION, TIMER_EVENT, Event, Origin, TimerTick

log = logging.getLogger(__name__)

#: The timer's cursor, under the name no connection may take.
CURSOR = "timer"
#: Seconds before a failed pass is tried again (the store or a Gerrit away).
RETRY = 30.0
#: Failed passes in a row before their scheduled runs are given up.
MAX_FAILED_PASSES = 3


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def timer_event(due: Due, tip: BranchTip) -> Event:
    return Event(
        type=TIMER_EVENT,
        connection=tip.connection,
        created_on=due.at,
        received_at=time.time(),
        project=tip.project,
        origin=Origin.TIMER,
        timer=TimerTick(pipeline=due.pipeline, branch=tip.branch),
    )


def candidate_tick(due: Due, scenario: str, level: str) -> Event:
    return Event(
        type=TIMER_EVENT,
        connection=PROMOTION,
        created_on=due.at,
        received_at=time.time(),
        project=scenario,
        origin=Origin.TIMER,
        timer=TimerTick(pipeline=due.pipeline, branch=level),
    )


class TimerEventSource:
    """Fires the configuration's timer rules into the intake, until cancelled."""

    def __init__(
        self,
        intake: EventSink,
        config: Callable[[], Config],
        projects: Mapping[str, ProjectSource],
        *,
        clock: Clock | None = None,
        retry: float = RETRY,
    ) -> None:
        self.intake = intake
        self.config = config
        self.projects = projects
        self.clock = clock or SystemClock()
        self.retry = retry
        self.failed_passes = 0
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Run a pass now: the configuration was reloaded, its schedule may be new."""
        self._woken.set()

    async def run(self) -> None:
        await self.start()
        while True:
            # Cleared before the pass reads the configuration: a reload during the
            # pass is another pass's cue.
            self._woken.clear()
            try:
                delay = await self.fire_due()
            except Exception:  # the store is down, say: try again after a while
                log.exception("timer: a pass failed")
                delay = self.retry
            await self._sleep(delay)

    async def _sleep(self, delay: float | None) -> None:
        """Until `delay` passed on the clock (None: never) or `wake` was called."""
        waits: set[asyncio.Task[object]] = {asyncio.create_task(self._woken.wait())}
        if delay is not None:
            waits.add(asyncio.create_task(self.clock.sleep(delay)))
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        for finished in done:
            finished.result()  # a clock's sleep that was cancelled cancels the timer

    async def start(self) -> None:
        """A new CI starts from now: it does not fire what was scheduled before it existed."""
        if await self.intake.cursor(CURSOR) is None:
            await self.intake.start_cursor(CURSOR, self.clock.now())

    async def fire_due(self) -> float | None:
        """One pass: fire what is due; the seconds to sleep until the next pass (None:
        no rule is configured, only a reload brings one)."""
        now = self.clock.now()
        config = self.config()
        cursor = await self.intake.cursor(CURSOR)
        ok = True
        for due in due_rules(config, now if cursor is None else cursor, now):
            ok = await self._fire(config, due) and ok
        if ok or self._give_up():
            self.failed_passes = 0
            await self.intake.advance_cursor(CURSOR, now)
        upcoming = next_due(config, now)
        waits = [] if upcoming is None else [upcoming - self.clock.now()]
        if not ok and self.failed_passes:  # the runs still due are tried again soon
            waits.append(self.retry)
        return max(0.0, min(waits)) if waits else None

    def _give_up(self) -> bool:
        self.failed_passes += 1
        if self.failed_passes < MAX_FAILED_PASSES:
            return False
        log.error(
            "timer: %d passes in a row failed; their scheduled runs are given up",
            self.failed_passes,
        )
        return True

    async def _fire(self, config: Config, due: Due) -> bool:
        """Submit one event per branch tip of the due rule; whether all went through."""
        source = config.pipelines[due.pipeline].candidates
        if source is not None:
            # A pipeline of candidates fires once: the scheduler takes the candidate the
            # level holds at this tick.
            log.info(
                "timer: pipeline '%s' (%s) at %s: the candidate %s %s holds",
                due.pipeline, due.trigger.cron, _when(due), source.scenario, source.level,
            )  # fmt: skip
            return await self._submit(candidate_tick(due, source.scenario, source.level or ""))
        found, problems = targets(config, due.pipeline)
        for problem in problems:
            log.warning("timer: pipeline '%s' cannot fire: %s", due.pipeline, problem)
        resolver = BranchResolver(self.projects)
        tips = await resolver.resolve(found, due.trigger.branches)
        for what, why in resolver.failures.items():
            log.error(
                "timer: pipeline '%s' at %s: %s failed (%s); tried again at the next pass",
                due.pipeline,
                _when(due),
                what,
                why,
            )
        log.info(
            "timer: pipeline '%s' (%s) at %s: %d branch tip(s)",
            due.pipeline,
            due.trigger.cron,
            _when(due),
            len(tips),
        )
        results = [await self._submit(timer_event(due, tip)) for tip in tips]
        return all(results) and not resolver.failures

    async def _submit(self, event: Event) -> bool:
        try:
            new = await self.intake.submit(event)
        except Exception:
            log.exception("timer: processing the event for %s %s failed", event.project, event.ref)
            events_received.labels(event.connection, Origin.TIMER.value, "failed").inc()
            return False
        outcome = "new" if new else "duplicate"
        events_received.labels(event.connection, Origin.TIMER.value, outcome).inc()
        return True


def _when(due: Due) -> str:
    return datetime.fromtimestamp(due.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
