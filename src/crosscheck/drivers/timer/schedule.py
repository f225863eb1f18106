"""When cron schedules fire, in UTC: the next time, and the latest one in a window.

Times are seconds since the epoch. Schedules have minute resolution, so the
scheduled times are whole minutes.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

# croniter (and dateutil, which it imports) is imported by the first schedule asked
# about: a serve without timer pipelines never holds it.


def next_tick(cron: str, after: float) -> float:
    """The first scheduled time strictly after `after`."""
    from croniter import croniter  # noqa: PLC0415

    return croniter(cron, _utc(after)).get_next(datetime).timestamp()


def latest_tick(cron: str, after: float, until: float) -> float | None:
    """The latest scheduled time in (after, until], or None when there is none."""
    # Scheduled times are whole seconds: the last one before floor(until) + 1 is the
    # last one at or before `until`.
    from croniter import croniter  # noqa: PLC0415

    latest: float = croniter(cron, _utc(math.floor(until) + 1)).get_prev(datetime).timestamp()
    return latest if latest > after else None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
