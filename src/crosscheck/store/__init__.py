"""Tables, queries and migrations (SQLAlchemy 2 + Alembic).

SQLite (WAL) by default, PostgreSQL by URL; one migration chain serves both.
`open_store(url)` returns a migrated engine.
"""

from crosscheck.store.engine import STORE_SET, default_url, open_store, sqlite_files

__all__ = ["STORE_SET", "default_url", "open_store", "sqlite_files"]
