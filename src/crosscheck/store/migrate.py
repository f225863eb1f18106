"""Alembic, run from inside crosscheck on an open connection, and only when a migration
is due: a store already at every head is told by one query, without importing Alembic
(and Mako, which it imports): about 10 MiB a long-running serve would hold for
nothing."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest revision of each Alembic branch (main, results, promotion, nodes): a store
#: holding exactly these needs no migration. A new migration changes its branch's head
#: here too; tests/unit/store/test_migrate.py checks this against the scripts.
HEADS = frozenset({"0008", "0105", "0203", "0300"})


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(resources.files(__package__) / "migrations"))
    config.attributes["connection"] = connection
    return config


def stored_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the store says it is at; none for a new store."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def upgrade(connection: Connection) -> None:
    """Apply every migration not applied yet, on every branch, inside the caller's transaction."""
    if stored_revisions(connection) == HEADS:
        return
    from alembic import command  # noqa: PLC0415

    # "heads": features add their tables on their own Alembic branch off 0001.
    command.upgrade(alembic_config(connection), "heads")
