"""One `crosscheck serve` in the background per directory, found again by its pid file.

The directory holds the pid file, the port, the log, the SQLite store and the
service's own state (build work directories and logs). Starting replaces a
serve already running from the same directory, under a lock, so two demos run
at once still leave one serve: two would report twice on every change. A pid is
trusted only while `/proc/<pid>/cmdline` is a serve of this directory's store,
so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crosscheck.sandbox import daemons
from crosscheck.sandbox.errors import DemoError
from crosscheck.store import peek

#: Seconds a process may take to show up after its start.
START_WAIT = 10.0


@dataclass(frozen=True)
class Started:
    pid: int
    port: int
    #: The serve this start replaced, if one was running.
    replaced: int | None


#: `crosscheck`, from this interpreter (`serve` logs at INFO, a line per record).
CROSSCHECK = (sys.executable, "-m", "crosscheck")


class BackgroundServe:
    def __init__(
        self,
        directory: Path,
        program: Sequence[str] = CROSSCHECK,
        sandbox_dir: Path | None = None,
    ) -> None:
        self.directory = directory
        #: The sandbox this serve builds for, out of its builds' sight.
        self.sandbox_dir = sandbox_dir
        #: What `serve ARGS` is appended to (tests give a stand-in).
        self.program = tuple(program)
        self.pid_file = directory / "serve.pid"
        self.port_file = directory / "serve.port"
        self.log_file = directory / "serve.log"
        self.database = directory / "crosscheck.db"
        self._lock_file = directory / "serve.lock"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.database}"

    @property
    def markers(self) -> tuple[str, str]:
        """What the command line of this directory's serve, and no other process, holds."""
        return ("serve", self.database_url)

    @property
    def port(self) -> int | None:
        """The port of the last start, kept so that log URLs stay the same across runs."""
        try:
            return int(self.port_file.read_text())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """The pid of the serve running here, or None; waits out a start or stop in progress."""
        if not self.directory.is_dir():
            return None
        with self._locked(fcntl.LOCK_SH):
            return self._running_pid()

    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if self._is_ours(pid) else None

    def start(self, config_paths: Sequence[Path], port: int) -> Started:
        """Start a serve (stopping the one already running here first)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            replaced = self._running_pid()
            if replaced is not None:
                self._terminate(replaced)
            pid = self._spawn(config_paths, port)
            self._wait_identifiable(pid)
            self.pid_file.write_text(f"{pid}\n")
            self.port_file.write_text(f"{port}\n")
        return Started(pid, port, replaced)

    def stop(self, timeout: float = 15.0) -> int | None:
        """Stop the serve running here; return its pid, or None when none ran."""
        if not self.directory.is_dir():
            return None
        with self._locked():
            pid = self._running_pid()
            if pid is not None:
                self._terminate(pid, timeout)
            self.pid_file.unlink(missing_ok=True)
        return pid

    def active_items(self) -> int:
        """Items queued or running: more than the demo's own when the serve is catching
        up on changes pushed while it was stopped."""
        return peek.active_items(self.database)

    def listening(self, connection: str) -> bool:
        """The serve has started listening to `connection`: its event cursor exists, so
        every later event reaches it (by the stream, or by catch-up from the cursor)."""
        return peek.has_cursor(self.database, connection)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log yet)"
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def _spawn(self, config_paths: Sequence[Path], port: int) -> int:
        command = [*self.program, "serve"]
        for path in config_paths:
            command += ["-c", str(path.resolve())]
        command += ["--port", str(port), "--database", self.database_url]
        # Build work directories and logs go under this directory, not the user's state;
        # the sandbox's (its admin's password) is named, so confined builds cannot see it.
        env = {
            **os.environ,
            "CROSSCHECK_STATE_DIR": str(self.directory),
            "CROSSCHECK_SANDBOX_DIR": str(self.sandbox_dir or self.directory),
        }
        with self.log_file.open("a") as log:
            log.write(f"--- crosscheck serve starting at {datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z\n")
            log.flush()
            # posix_spawn rather than Popen: the serve outlives this process, and a Popen
            # object would complain when collected with its child still running.
            return os.posix_spawnp(
                command[0],
                command,
                env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log.fileno(), 1),
                    (os.POSIX_SPAWN_DUP2, log.fileno(), 2),
                ],
                setsid=True,  # its own session: no signal from this terminal reaches it
            )

    def _wait_identifiable(self, pid: int) -> None:
        """Until the new process shows its own command line: during its exec, /proc still
        shows none, and a pid that cannot be told ours yet must not be recorded."""
        deadline = time.monotonic() + START_WAIT
        while not self._is_ours(pid):
            if daemons.reaped(pid) or time.monotonic() > deadline:
                raise DemoError(
                    f"crosscheck serve did not start; the end of {self.log_file}:\n"
                    + self.log_tail()
                )
            time.sleep(0.01)

    def _is_ours(self, pid: int) -> bool:
        return daemons.is_ours(pid, self.markers)

    def _terminate(self, pid: int, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; a build it ran is re-run by the next serve."""
        if not daemons.stop(pid, self.markers, timeout):
            raise DemoError(f"crosscheck serve (pid {pid}) outlived SIGKILL: {self.log_file}")

    @contextlib.contextmanager
    def _locked(self, mode: int = fcntl.LOCK_EX) -> Iterator[None]:
        with self._lock_file.open("a") as handle:
            fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
