"""Alembic environment: migrations always run on a connection crosscheck hands over."""

from __future__ import annotations

from alembic import context

from crosscheck.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("crosscheck runs its migrations itself: use crosscheck.store.open_store")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
