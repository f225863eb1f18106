"""The schema, as SQLAlchemy Core tables. Alembic migrations create and change it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine: SQLite hands back naive ones otherwise."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Per connection, the time of the newest event processed: catch-up resumes from it.
event_cursors = Table(
    "event_cursors",
    metadata,
    Column("connection", String(200), primary_key=True),
    Column("last_event_at", Float, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    #: When crosscheck first listened (migration 0004); catch-up never looks before it.
    Column("started_at", Float),
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
    Column("received_at", UtcDateTime, nullable=False),
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
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    #: While pending after a failed attempt: when its back-off ends (migration 0007).
    Column("next_attempt_at", UtcDateTime),
    UniqueConstraint("report_key", name="uq_reports_report_key"),
)


# -- results service (migration 0100) ---------------------------------------


#: CI accounts that report results; `allowed_projects` is a JSON list of globs or ^regexes.
ci_accounts = Table(
    "ci_accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("info_url", Text, nullable=False),
    #: The product or driver it tests, and how to reach its operators (migration 0104).
    Column("driver", String(200), nullable=False, server_default=""),
    Column("contact", String(200), nullable=False, server_default=""),
    Column("enabled", Boolean, nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("allowed_projects", Text, nullable=False),
    Column("disabled_reason", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    #: Kept up to date by every ingest, so the health table never scans results for them.
    Column("last_seen", UtcDateTime),
    Column("last_success", UtcDateTime),
    UniqueConstraint("name", name="uq_ci_accounts_name"),
)

#: API tokens: only their SHA-256 is stored (they are 256-bit random, so no slow hash is needed).
ci_tokens = Table(
    "ci_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("ci_accounts.id"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("token_hash", name="uq_ci_tokens_token_hash"),
    Index("ix_ci_tokens_account", "account_id"),
)

#: SSH public keys; a key belongs to one account only.
ci_ssh_keys = Table(
    "ci_ssh_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("ci_accounts.id"), nullable=False),
    Column("algorithm", String(100), nullable=False),
    Column("key_data", Text, nullable=False),
    Column("fingerprint", String(100), nullable=False),
    Column("comment", String(300), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    UniqueConstraint("fingerprint", name="uq_ci_ssh_keys_fingerprint"),
    Index("ix_ci_ssh_keys_account", "account_id"),
)

#: Every result ever reported: a re-report is a new row; the newest per key is current.
results = Table(
    "results",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("uuid", String(32), nullable=False),
    Column("account_id", Integer, ForeignKey("ci_accounts.id"), nullable=False),
    Column("project", String(300), nullable=False),
    Column("branch", String(300)),
    #: 64-bit (migration 0103): Gerrit's change numbers only grow.
    Column("change_number", BigInteger, nullable=False),
    Column("patchset", Integer, nullable=False),
    Column("revision", String(64)),
    Column("job", String(200), nullable=False),
    Column("value", String(20), nullable=False),
    Column("url", Text),
    Column("duration", Float),
    Column("voting", Boolean, nullable=False),
    Column("category", String(100)),
    Column("rerun", Boolean, nullable=False),
    Column("comment", Text),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    #: The change page: one change, all its patchsets.
    Index("ix_results_change", "change_number", "patchset"),
    #: A CI account's history, newest first.
    Index("ix_results_account_time", "account_id", "reported_at"),
    #: Statistics over the partial first day of a window; recent results.
    Index("ix_results_reported_at", "reported_at"),
    #: verify-status addresses a patchset by its commit.
    Index("ix_results_revision", "revision"),
)

#: Results per CI account, UTC day and value, kept by every ingest: the health table
#: sums at most 31 rows per account and value instead of scanning a month of results.
result_daily_counts = Table(
    "result_daily_counts",
    metadata,
    Column("account_id", Integer, ForeignKey("ci_accounts.id"), primary_key=True),
    #: Days since 1970-01-01, UTC.
    Column("day", Integer, primary_key=True),
    Column("value", String(20), primary_key=True),
    Column("count", Integer, nullable=False),
    Index("ix_result_daily_counts_day", "day"),
)

#: The same counts per CI account and UTC day, one column per value (migration 0105):
#: the health table's month is 31 rows per account. Kept, as the daily counts, the
#: projects and last seen, by the trigger of migration 0105 on every insert into results.
result_account_days = Table(
    "result_account_days",
    metadata,
    Column("account_id", Integer, ForeignKey("ci_accounts.id"), primary_key=True),
    #: Days since 1970-01-01, UTC.
    Column("day", Integer, primary_key=True),
    *(
        Column(value, Integer, nullable=False, server_default="0")
        for value in ("passed", "failed", "unstable", "in_progress", "skipped", "not_registered")
    ),
    Index("ix_result_account_days_day", "day"),
)

# -- results backfill (migration 0101) ---------------------------------------

#: Gerrit review messages whose job lines became results: a backfill imports each once.
backfilled_messages = Table(
    "backfilled_messages",
    metadata,
    #: The Gerrit server's URL: message ids are unique per server only.
    Column("source", String(300), primary_key=True),
    Column("message_id", String(100), primary_key=True),
    Column("change_number", BigInteger, nullable=False),
    Column("results", Integer, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
)

#: The health table counts the first, partial day of each window by (account, value):
#: with this index that is an index-only scan instead of a visit to every row of the day.
Index("ix_results_time_account_value", results.c.reported_at, results.c.account_id, results.c.value)

# -- merged changes (migration 0104) -----------------------------------------

#: Changes Gerrit merged and the patchset that merged: the health table counts, as
#: Stackalytics did, a CI's votes on the last patchset of merged changes. Filled by the
#: backfill, by serve's Gerrit stream, and by POST /api/v1/merges.
merged_changes = Table(
    "merged_changes",
    metadata,
    Column("change_number", BigInteger, primary_key=True, autoincrement=False),
    Column("project", String(300), nullable=False),
    Column("patchset", Integer, nullable=False),
    Column("merged_at", UtcDateTime, nullable=False),
    Index("ix_merged_changes_merged_at", "merged_at"),
)

#: The projects each CI account reported on, and when last (migration 0104): the
#: health table's "projects" column without a scan of a month of results.
account_projects = Table(
    "account_projects",
    metadata,
    Column("account_id", Integer, ForeignKey("ci_accounts.id"), primary_key=True),
    Column("project", String(300), primary_key=True),
    Column("last_reported_at", UtcDateTime, nullable=False),
    #: An account's projects of the month, counted and listed (migration 0105).
    Index("ix_account_projects_account_time", "account_id", "last_reported_at"),
)

#: Each project's last report (migration 0105, kept by its trigger): the health table's
#: filter suggests the month's projects without a pass over every account's.
reported_projects = Table(
    "reported_projects",
    metadata,
    Column("project", String(300), primary_key=True),
    Column("last_reported_at", UtcDateTime, nullable=False),
)

# -- audit trail (migration 0102) --------------------------------------------

#: What admins did to CI accounts (created, changed, disabled, enabled, token rotated,
#: SSH key added), by whom and when; never a token. Admins read it newest first.
audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UtcDateTime, nullable=False),
    #: `admin token`, `CI account NAME`, `cli (USER)`, `backfill`, `serve`.
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    #: The CI account acted on, by name (kept when the account is renamed or gone).
    Column("account", String(100), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_events_account", "account"),
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
    #: An `ItemState` (model/states.py): new, running, finished (report queued),
    #: skipped, superseded, dequeued.
    Column("state", String(20), nullable=False),
    Column("detail", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    #: What it was planned with (model/item_context.py, JSON): Depends-On changes,
    #: scenarios' versions; None when nothing beyond its own change.
    Column("context", Text),
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
    #: A `BuildState` (model/states.py): waiting, running, finished, interrupted (a
    #: restart found it running), canceled.
    Column("state", String(20), nullable=False),
    Column("result", String(30)),
    Column("node", String(200)),
    Column("log_url", Text),
    Column("detail", Text),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    #: A waiting build starts only from this time on (a retry after an infrastructure
    #: failure backs off); None: at once.
    Column("not_before", UtcDateTime),
    #: 1: it ended because the server its workspace is fetched from was away, an attempt
    #: not counted against the job's `attempts` (migration 0008).
    Column("source_away", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_builds_item", "item_id"),
    Index("ix_builds_state", "state"),
)

# -- promotion (migration 0200, branch "promotion") --------------------------------------
# Only store/promotion.py touches these three tables.

#: Candidates: one immutable set of component versions of a scenario, by content hash.
candidates = Table(
    "candidates",
    metadata,
    #: The sha256 of the versions (model/candidate.py): the same set is the same row.
    Column("id", String(64), primary_key=True),
    Column("scenario", String(200), nullable=False),
    #: JSON object, component name -> 40-hex SHA, sorted by name.
    Column("versions", Text, nullable=False),
    #: Orders candidates (ties by id): a pointer never moves to an older one.
    Column("created_at", UtcDateTime, nullable=False),
    #: merge, timer or operator.
    Column("origin", String(20), nullable=False),
    Index("ix_candidates_scenario_created", "scenario", "created_at"),
)

#: The candidate each level of a scenario holds now; `generation` counts its moves.
level_pointers = Table(
    "level_pointers",
    metadata,
    Column("scenario", String(200), primary_key=True),
    Column("level", String(100), primary_key=True),
    #: None: the level holds nothing (never reached, or an operator cleared it).
    Column("candidate", String(64), ForeignKey("candidates.id")),
    Column("moved_at", UtcDateTime),
    Column("generation", BigInteger, nullable=False),
)

#: Every move of a level's pointer, with its evidence or reason: the history.
promotions = Table(
    "promotions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("scenario", String(200), nullable=False),
    Column("level", String(100), nullable=False),
    #: None: a demotion that cleared the level.
    Column("candidate", String(64), ForeignKey("candidates.id")),
    #: The candidate the level held before the move.
    Column("previous", String(64), ForeignKey("candidates.id")),
    Column("at", UtcDateTime, nullable=False),
    #: The rule ("criteria") or the account that moved it.
    Column("by", String(200), nullable=False),
    #: promote, demote or rollback (model.promotion.PromotionKind).
    Column("kind", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    #: JSON object: criterion -> the result ids that satisfied it.
    Column("evidence", Text, nullable=False),
    #: The pointer's generation after this move.
    Column("generation", BigInteger, nullable=False),
    Index("ix_promotions_level", "scenario", "level", "id"),
    #: What a candidate reached (migration 0201): the engine asks at each decision.
    Index("ix_promotions_candidate", "candidate"),
    #: A candidate is promoted to a level once, whatever the number of serve processes.
    Index(
        "uq_promotions_promoted_once",
        "scenario",
        "level",
        "candidate",
        unique=True,
        sqlite_where=text("kind = 'promote'"),
        postgresql_where=text("kind = 'promote'"),
    ),
)

# -- promotion's evidence (migration 0201) -------------------------------------------------
# Only store/evidence.py touches these two tables.

#: Results CI accounts reported on candidates (not on patchsets): a re-report is a new
#: row; the newest per job and account is current, as for patchsets.
candidate_results = Table(
    "candidate_results",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("candidate", String(64), ForeignKey("candidates.id"), nullable=False),
    Column("account_id", Integer, ForeignKey("ci_accounts.id"), nullable=False),
    Column("job", String(200), nullable=False),
    Column("value", String(20), nullable=False),
    Column("url", Text),
    Column("duration", Float),
    Column("comment", Text),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    #: The engine reads one candidate's evidence at each arrival.
    Index("ix_candidate_results_candidate", "candidate", "id"),
)

#: Manual approvals: an account approves a candidate for one level, once.
candidate_approvals = Table(
    "candidate_approvals",
    metadata,
    Column("candidate", String(64), ForeignKey("candidates.id"), primary_key=True),
    Column("level", String(100), primary_key=True),
    Column("account", String(200), primary_key=True),
    Column("approved_at", UtcDateTime, nullable=False),
    Column("comment", Text, nullable=False),
)

# -- releases (migration 0202) ---------------------------------------------------------
# Only store/releases.py touches this table.

#: A candidate released on a channel; a release's name is unique within its scenario.
releases = Table(
    "releases",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("scenario", String(200), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    #: The level the candidate qualified from.
    Column("level", String(100), nullable=False),
    Column("candidate", String(64), ForeignKey("candidates.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("by", String(200), nullable=False),
    #: JSON list: each component's version, where it lives and its tag.
    Column("components", Text, nullable=False),
    UniqueConstraint("scenario", "name", name="uq_releases_scenario_name"),
)

# -- publications (migration 0203) -------------------------------------------------------
# Only store/publications.py touches this table.

#: What a promotion publishes, written with it and kept until published: a Gerrit or a
#: webhook away for a while delays a tag, never loses it.
publications = Table(
    "publications",
    metadata,
    Column(
        "promotion_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("promotions.id"),
        primary_key=True,
    ),
    #: pending, done
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_publications_due", "state", "next_at"),
)

# -- nodes (migration 0300, branch "nodes") ----------------------------------------------
# Only store/nodes.py touches these three tables.

#: A build's hold on one slot of one SSH node, written before the build touches the
#: node and removed once the node is clean again: a restart never hands a node whose
#: last build left something behind to another build before it is cleaned.
node_locks = Table(
    "node_locks",
    metadata,
    Column("node", String(200), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("build_id", String(100), nullable=False),
    #: The POD the node was taken with, or "".
    Column("pod", String(200), nullable=False),
    #: The build's work directory on the node.
    Column("run_dir", Text, nullable=False),
    Column("locked_at", UtcDateTime, nullable=False),
    Index("ix_node_locks_build", "build_id"),
)

#: What operators decided about a node: held (with who, why and until when), drained.
node_states = Table(
    "node_states",
    metadata,
    Column("node", String(200), primary_key=True),
    Column("held_by", String(200)),
    Column("hold_reason", Text, nullable=False, server_default=""),
    Column("held_at", UtcDateTime),
    Column("hold_until", UtcDateTime),
    #: The work directory an autohold keeps on the node, removed on release.
    Column("kept_dir", Text),
    Column("drained", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Requests to keep the node of a job's next failed build(s) for debugging.
autoholds = Table(
    "autoholds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(300), nullable=False),
    Column("project", String(300)),
    Column("change_number", Integer),
    #: Failed builds still to hold; the request goes at 0.
    Column("remaining", Integer, nullable=False),
    #: Seconds each held node stays held unless released first.
    Column("hold_for", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
