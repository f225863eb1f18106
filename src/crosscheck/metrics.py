"""Prometheus metrics crosscheck exports (names follow Prometheus' conventions).

Counters and histograms are updated where things happen; the gauges of queue
depths are set from the store when `/metrics` is scraped, so they are true after
a restart too. docs/operator.md lists them for operators.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
gerrit_reads_spared = Counter(
    "crosscheck_gerrit_reads_spared_total",
    "Reads of a change not sent because the stream vouched for a fresh upload (planning).",
    ["connection", "read"],
)
events_ignored = Counter(
    "crosscheck_events_ignored_total",
    "Events that triggered nothing on purpose, by why (own account, old patchset, ...).",
    ["connection", "reason"],
)
items_queued = Gauge(
    "crosscheck_queue_items",
    "Items still moving, by pipeline and state (new, running); set at each scrape.",
    ["pipeline", "state"],
)
builds_queued = Gauge(
    "crosscheck_queue_builds",
    "Builds that may still run, by state (waiting, running); set at each scrape.",
    ["state"],
)
scheduler_passes = Counter(
    "crosscheck_scheduler_passes_total",
    "Passes the scheduler ran over the store's items and builds (each woken by a cause).",
)
builds_finished = Counter(
    "crosscheck_builds_total",
    "Builds finished, by pipeline and result (SUCCESS, FAILURE, ERROR, ...).",
    ["pipeline", "result"],
)
reports_pending = Gauge(
    "crosscheck_reports_pending",
    "Reports not yet delivered (pending or sending), by destination; set at each scrape.",
    ["connection"],
)
reports_finished = Counter(
    "crosscheck_reports_total", "Reports finished, by outcome.", ["connection", "state"]
)
reports_given_up = Counter(
    "crosscheck_reports_given_up_total",
    "Reports given up without being delivered, by destination and reason.",
    ["connection", "reason"],
)
report_delivery_seconds = Histogram(
    "crosscheck_report_delivery_seconds",
    "Seconds from a report being queued to its delivery.",
    ["connection"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
http_requests = Counter(
    "crosscheck_http_requests_total",
    "HTTP requests answered, by method and status (401 and 403: refused credentials).",
    ["method", "status"],
)
http_request_seconds = Histogram(
    "crosscheck_http_request_seconds",
    "Seconds from an HTTP request to the end of its answer.",
    ["method"],
)
promotions = Counter(
    "crosscheck_promotions_total",
    "Candidates the rules promoted, by scenario and level.",
    ["scenario", "level"],
)
promotion_level_age = Gauge(
    "crosscheck_promotion_level_age_seconds",
    "Seconds since a scenario's level last moved (DLRN's alarm: a level stuck for days); "
    "absent while the level holds no candidate; set at each scrape.",
    ["scenario", "level"],
)
nodes = Gauge(
    "crosscheck_nodes",
    "SSH nodes by state (ready, in-use, held, drained, unhealthy, cleaning, unchecked)",
    ["state"],
)
node_builds = Gauge(
    "crosscheck_node_builds",
    "Builds running on each node (the local node counts its slots)",
    ["node"],
)
node_slots = Gauge(
    "crosscheck_node_slots",
    "Builds each node takes at once",
    ["node"],
)
node_failures = Counter(
    "crosscheck_node_failures_total",
    "Nodes taken out of rotation, by node",
    ["node"],
)
