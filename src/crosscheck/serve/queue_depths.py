"""The queue-depth gauges, read from the store at each scrape of /metrics.

Read rather than counted as things move, so they are right after a restart, and
with several processes on one database. A label set seen once stays, at 0, when
its queue empties (a vanished series would read as "no data", not as "empty").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.metrics import builds_queued, items_queued, reports_pending
from crosscheck.model.config import Config
from crosscheck.model.report import RESULTS_SERVICE
from crosscheck.store.tables import builds, items, reports

ITEM_STATES = ("new", "running")
BUILD_STATES = ("waiting", "running")
REPORT_STATES = ("pending", "sending")

#: A count per label values (`("check", "new")`).
Counts = dict[tuple[str, ...], int]


class QueueDepths:
    def __init__(self, engine: AsyncEngine, config: Callable[[], Config]) -> None:
        self.engine = engine
        self.config = config
        self._seen: dict[Gauge, set[tuple[str, ...]]] = {}

    async def refresh(self) -> None:
        async with self.engine.connect() as db:
            item_counts = await _count(db, [items.c.pipeline, items.c.state], ITEM_STATES)
            build_counts = await _count(db, [builds.c.state], BUILD_STATES)
            report_counts = await _count(db, [reports.c.connection], REPORT_STATES)
        # No await from here on: a concurrent scrape never sees half of an update.
        config = self.config()
        known_items = ((p, s) for p in config.pipelines for s in ITEM_STATES)
        self._set(items_queued, item_counts, known_items)
        self._set(builds_queued, build_counts, ((s,) for s in BUILD_STATES))
        destinations = [*config.connections]
        if config.results.reporting:
            destinations.append(RESULTS_SERVICE)
        self._set(reports_pending, report_counts, ((c,) for c in destinations))

    def _set(self, gauge: Gauge, counts: Counts, known: Iterable[tuple[str, ...]]) -> None:
        seen = self._seen.setdefault(gauge, set())
        seen.update(known)
        seen.update(counts)
        for labels in seen:
            gauge.labels(*labels).set(counts.get(labels, 0))


async def _count(
    db: AsyncConnection, labels: list[ColumnElement[Any]], states: tuple[str, ...]
) -> Counts:
    """Rows of the labels' table in one of `states`, counted per value of `labels`."""
    table = labels[0].table
    query = select(*labels, func.count()).where(table.c.state.in_(states)).group_by(*labels)
    return {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in await db.execute(query)}
