"""The sandbox's example CI as serve's tests load it: its files, with a connection of
the test's own (a Gerrit that is never reached)."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "sandbox-ci"


def config_with(tmp_path: Path, connection: str) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns("*.md"))
    (directory / "connection.yaml").write_text(connection)
    return directory


def connection(key: Path, hosts: Path, password: Path) -> str:
    return f"""
- connection:
    name: sandbox
    host: 127.0.0.1
    http_url: http://127.0.0.1:9/
    user: crosscheck-ci
    ssh_key: {key}
    known_hosts: {hosts}
    http_password_file: {password}
"""
