"""The schema, as SQLAlchemy Core tables. Alembic migrations create and change it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: Per connection, the time of the newest event processed: catch-up resumes from it.
event_cursors = Table(
    "event_cursors",
    metadata,
    Column("connection", String(200), primary_key=True),
    Column("last_event_at", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Events already processed, so a copy from another path is dropped.
seen_events = Table(
    "seen_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("connection", String(200), nullable=False),
    Column("sameness", String(64), nullable=False),
    Column("created_on", BigInteger, nullable=False),
    Column("event_key", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    #: stream, catchup or webhook: the stream never sends one event twice.
    Column("origin", String(20), nullable=False, server_default="stream"),
    Index("ix_seen_events_sameness", "connection", "sameness"),
    Index("ix_seen_events_received_at", "received_at"),
)

#: Reports to send upstream, and how each went.
reports = Table(
    "reports",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("report_key", String(300), nullable=False),
    Column("connection", String(200), nullable=False),
    Column("project", String(300), nullable=False),
    Column("change_number", Integer, nullable=False),
    Column("patchset", Integer, nullable=False),
    Column("revision", String(64), nullable=False),
    #: The report itself (message, votes, tag, notify) as JSON, to resend after a restart.
    Column("payload", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("transport", String(20)),
    Column("detail", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("report_key", name="uq_reports_report_key"),
)

#: Items: one change (or ref) in one pipeline, from the event that enqueued it to its report.
items = Table(
    "items",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("pipeline", String(200), nullable=False),
    Column("connection", String(200), nullable=False),
    Column("project", String(300), nullable=False),
    Column("branch", String(300), nullable=False),
    Column("change_number", Integer),
    Column("patchset", Integer),
    Column("revision", String(64)),
    #: The triggering event as JSON: builds are rebuilt from it after a restart.
    Column("event", Text, nullable=False),
    #: new, running, finished (report queued), superseded, dequeued.
    Column("state", String(20), nullable=False),
    Column("detail", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_items_state", "state"),
    Index("ix_items_change", "connection", "change_number"),
)

#: Builds: one attempt of one job for one item.
builds = Table(
    "builds",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("item_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("job", String(300), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("voting", Integer, nullable=False),
    #: waiting, running, finished, interrupted (a restart found it running), canceled.
    Column("state", String(20), nullable=False),
    Column("result", String(30)),
    Column("node", String(200)),
    Column("log_url", Text),
    Column("detail", Text),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_builds_item", "item_id"),
    Index("ix_builds_state", "state"),
)
