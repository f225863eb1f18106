"""Items planned again later: while the server an item's planning needs does not answer,
the item waits a growing delay between tries (at most MAX_DELAY, so it is planned
soon after the server is back), and the operator is told at each new delay, not at
every pass: a Gerrit away for an hour is five lines, not thousands."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("crosscheck.scheduler.scheduler")

FIRST_DELAY = 2.0
MAX_DELAY = 30.0


class Replans:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: Item id -> (when it may be planned again, the delay that was waited).
        self._waits: dict[int, tuple[float, float]] = {}

    def waiting(self, item_id: int) -> bool:
        found = self._waits.get(item_id)
        return found is not None and self._clock() < found[0]

    def later(self, item_id: int, why: str) -> None:
        _, last = self._waits.get(item_id, (0.0, 0.0))
        delay = min(MAX_DELAY, max(FIRST_DELAY, last * 2))
        self._waits[item_id] = (self._clock() + delay, delay)
        if delay != last:
            log.warning("%s; trying again in %.0fs", why, delay)

    def next_in(self) -> float | None:
        """Seconds until the soonest waiting item may be planned; None when none waits.
        Items whose time has come are not counted: the pass that follows plans them."""
        now = self._clock()
        later = [until - now for until, _ in self._waits.values() if until > now]
        return min(later) if later else None

    def forget(self, item_id: int) -> None:
        self._waits.pop(item_id, None)

    def now(self) -> None:
        """Every waiting item may be planned at the next pass (a server is back)."""
        self._waits = {item: (0.0, delay) for item, (_, delay) in self._waits.items()}
