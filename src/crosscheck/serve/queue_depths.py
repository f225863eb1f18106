"""The queue-depth gauges and the promotion levels' ages, read from the store at each
scrape of /metrics.

Read rather than counted as things move, so they are right after a restart, and
with several processes on one database. A label set seen once stays, at 0, when
its queue empties (a vanished series would read as "no data", not as "empty").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.metrics import (
    builds_queued,
    items_queued,
    promotion_level_age,
    reports_pending,
)
from crosscheck.model.config import Config
from crosscheck.model.promotion import LevelPointer
from crosscheck.model.report import RESULTS_SERVICE, ReportState
from crosscheck.model.states import ACTIVE_ITEM_STATES, LIVE_BUILD_STATES
from crosscheck.store import promotion, work
from crosscheck.store.tables import reports

REPORT_STATES = (ReportState.PENDING, ReportState.SENDING)

#: A count per label values (`("check", "new")`).
Counts = dict[tuple[str, ...], int]


class QueueDepths:
    def __init__(self, engine: AsyncEngine, config: Callable[[], Config]) -> None:
        self.engine = engine
        self.config = config
        self._seen: dict[Gauge, set[tuple[str, ...]]] = {}

    async def refresh(self) -> None:
        scenarios = sorted(self.config().scenarios)
        async with self.engine.connect() as db:
            items = await work.count_items(db)
            builds = await work.count_builds(db)
            report_counts = await _count_reports(db)
            pointers = {name: await promotion.pointers(db, name) for name in scenarios}
        item_counts: Counts = {(p, str(state)): n for (p, state), n in items.items()}
        build_counts: Counts = {(str(state),): n for state, n in builds.items()}
        # No await from here on: a concurrent scrape never sees half of an update.
        config = self.config()
        known_items = ((p, s) for p in config.pipelines for s in ACTIVE_ITEM_STATES)
        self._set(items_queued, item_counts, known_items)
        self._set(builds_queued, build_counts, ((s,) for s in LIVE_BUILD_STATES))
        destinations = [*config.connections]
        if config.results.reporting:
            destinations.append(RESULTS_SERVICE)
        self._set(reports_pending, report_counts, ((c,) for c in destinations))
        _set_ages(pointers, datetime.now(UTC))

    def _set(self, gauge: Gauge, counts: Counts, known: Iterable[tuple[str, ...]]) -> None:
        seen = self._seen.setdefault(gauge, set())
        seen.update(known)
        seen.update(counts)
        for labels in seen:
            gauge.labels(*labels).set(counts.get(labels, 0))


async def _count_reports(db: AsyncConnection) -> Counts:
    """Reports not delivered yet, counted per destination."""
    query = (
        select(reports.c.connection, func.count())
        .where(reports.c.state.in_(REPORT_STATES))
        .group_by(reports.c.connection)
    )
    return {(str(destination),): int(n) for destination, n in await db.execute(query)}


def _set_ages(pointers: dict[str, dict[str, LevelPointer]], now: datetime) -> None:
    """Each level's age; a level that holds nothing (any more) has no series."""
    promotion_level_age.clear()
    for scenario, held in pointers.items():
        for level, pointer in held.items():
            age = (now - pointer.moved_at).total_seconds()
            promotion_level_age.labels(scenario, level).set(age)
