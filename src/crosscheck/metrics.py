"""Prometheus metrics crosscheck exports (names follow Prometheus' conventions)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

stream_connected = Gauge(
    "crosscheck_gerrit_stream_connected",
    "1 while the stream-events connection to a Gerrit is up, else 0.",
    ["connection"],
)
stream_reconnects = Counter(
    "crosscheck_gerrit_stream_reconnects_total",
    "Times the stream-events connection was (re)established.",
    ["connection"],
)
events_received = Counter(
    "crosscheck_events_total",
    "Events received, by how they came and whether they were new.",
    ["connection", "origin", "outcome"],
)
reports_finished = Counter(
    "crosscheck_reports_total", "Reports finished, by outcome.", ["connection", "state"]
)
