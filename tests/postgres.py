"""A private, throwaway PostgreSQL cluster for tests, from Debian's postgresql package.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
user (which the package creates) in a directory of its own under /tmp; it listens
on a unix socket in that directory only, so it never meets another cluster.
Nothing here skips: a missing package or a failed start fails the test with the
reason and the fix.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = "install it with `bash scripts/setup` (or: apt-get install postgresql)"


class PostgresUnavailableError(RuntimeError):
    """The cluster cannot be found or started; the message says why and what to do."""


def postgres_bin_dir() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailableError(f"PostgreSQL's initdb was not found: {INSTALL_HINT}")
    return candidates[-1].parent


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory; `url(database)` for SQLAlchemy (asyncpg)."""

    def __init__(self) -> None:
        self.bin = postgres_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="crosscheck-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._names = itertools.count()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PostgresUnavailableError("runuser (util-linux) is needed to run PostgreSQL")
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)

    def start(self) -> None:
        self._server_command(
            "initdb", "-D", str(self.data), "-U", "crosscheck", "--auth=trust", "--no-sync",
            "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        self.resume()

    def resume(self) -> None:
        """Start the server of the cluster `start` made (again, after `pause`)."""
        options = (
            f"-k {self.root} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._server_command(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def pause(self) -> None:
        """Stop the server, keeping its data: an outage the test ends with `resume`."""
        self._server_command("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                 "immediate", "stop"],
                capture_output=True,
                check=False,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"test_{next(self._names)}"
        self._client("createdb", name)
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://crosscheck@/{database}?host={self.root}"

    def _client(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), "-h", str(self.root), "-U", "crosscheck", *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresUnavailableError(f"{program} failed: {done.stderr.strip()}")

    def _server_command(self, program: str, *args: str) -> None:
        command = [*self._as_user, str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise PostgresUnavailableError(
                f"{program} failed (exit {done.returncode}): {done.stderr.strip()}\n{log}"
                f"\n{INSTALL_HINT}"
            )
