"""`crosscheck serve --database BAD` says what is wrong in one line (the URL's password
hidden) and exits before it connects to anything or creates anything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

#: A connection nothing answers at: serve would retry it forever, so a run that ends
#: shows the store failed first.
CONFIG = """\
- ci: {name: Ops CI}
- connection:
    name: review
    host: 127.0.0.1
    ssh_port: 1
    http_url: http://127.0.0.1:1/
    user: ci
"""
HOW = "check --database or CROSSCHECK_DATABASE_URL"


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql+asyncpg://u:hunter2@127.0.0.1:1/x",
            "the database postgresql+asyncpg://u:***@127.0.0.1:1/x: Connection refused "
            "(is the database server running?)",
        ),
        (
            # By name: asyncpg looks it up on the loop's executor, whose thread lives on.
            "postgresql+asyncpg://u:hunter2@localhost:1/x",
            "the database postgresql+asyncpg://u:***@localhost:1/x: Connection refused "
            "(is the database server running?)",
        ),
        (
            "notadb://x",
            "the database notadb://x: unknown kind of database "
            "(use sqlite+aiosqlite:///PATH or postgresql+asyncpg://...)",
        ),
        (
            "sqlite+aiosqlite:////nonexistent/dir/x.db",
            "the database sqlite+aiosqlite:////nonexistent/dir/x.db: unable to open database file",
        ),
        (
            "not a url at all:hunter2",
            "the database: not a database URL "
            "(e.g. sqlite+aiosqlite:///PATH, postgresql+asyncpg://...)",
        ),
    ],
    ids=[
        "unreachable postgresql",
        "unreachable postgresql by name",
        "unknown dialect",
        "sqlite cannot open",
        "no url",
    ],
)
def test_a_store_that_cannot_be_opened_is_one_line_and_exit_status_1(
    tmp_path: Path, url: str, message: str
) -> None:
    config = tmp_path / "ci.yaml"
    config.write_text(CONFIG)
    state = tmp_path / "state"
    command = ["serve", "-c", str(config), "--port", str(free_port()), "--database", url]
    ran = subprocess.run(
        [sys.executable, "-m", "crosscheck", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "CROSSCHECK_STATE_DIR": str(state)},
        timeout=60,
        check=False,
    )
    assert (ran.returncode, ran.stdout) == (1, "")
    assert ran.stderr == f"crosscheck serve: cannot open {message}: {HOW}\n"
    assert "hunter2" not in ran.stderr
    assert not state.exists()  # no CI account, no token file: nothing was started


def test_the_results_service_names_its_own_option_for_the_store(tmp_path: Path) -> None:
    command = ["results", "serve", "--no-ssh", "--port", str(free_port()), "--store",
               "postgresql+asyncpg://u:hunter2@127.0.0.1:1/x"]  # fmt: skip
    ran = subprocess.run(
        [sys.executable, "-m", "crosscheck", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "CROSSCHECK_STATE_DIR": str(tmp_path / "state")},
        timeout=60,
        check=False,
    )
    assert ran.returncode == 1
    assert ran.stderr.rstrip().endswith(
        "Connection refused (is the database server running?): "
        "check --store or CROSSCHECK_STORE_URL"
    ), ran.stderr
    assert "hunter2" not in ran.stderr
