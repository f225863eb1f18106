"""Alembic, run from inside crosscheck on an open connection."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files(__package__) / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection) -> None:
    """Apply every migration not applied yet, on every branch, inside the caller's transaction."""
    # "heads": features add their tables on their own Alembic branch off 0001.
    command.upgrade(alembic_config(connection), "heads")
