"""BackgroundServe with a stand-in for `crosscheck serve`: one per directory, never a stranger."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crosscheck.sandbox.demo import BackgroundServe

from .sleepers import SLEEPER, STUBBORN, ServeFactory


@pytest.fixture
def serve(make_serve: ServeFactory, tmp_path: Path) -> BackgroundServe:
    return make_serve(tmp_path / "demo")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_start_records_the_pid_and_port_and_marks_the_log(
    serve: BackgroundServe, tmp_path: Path
) -> None:
    started = serve.start([tmp_path / "ci"], 18123)
    assert started.replaced is None
    assert serve.running_pid() == started.pid
    assert serve.pid_file.read_text() == f"{started.pid}\n"
    assert serve.port == 18123
    assert "--- crosscheck serve starting at" in serve.log_file.read_text()
    args = Path(f"/proc/{started.pid}/cmdline").read_bytes().split(b"\0")
    assert b"--database" in args
    assert serve.database_url.encode() in args
    assert str((tmp_path / "ci").resolve()).encode() in args


def test_a_second_start_replaces_the_first_so_one_runs(
    serve: BackgroundServe, tmp_path: Path
) -> None:
    first = serve.start([tmp_path], 18123)
    second = serve.start([tmp_path], 18124)
    assert second.replaced == first.pid
    assert not alive(first.pid)
    assert alive(second.pid)
    assert serve.running_pid() == second.pid
    assert serve.port == 18124


def test_stop_ends_it_and_forgets_the_pid(serve: BackgroundServe, tmp_path: Path) -> None:
    started = serve.start([tmp_path], 18123)
    assert serve.stop() == started.pid
    assert not alive(started.pid)
    assert not serve.pid_file.exists()
    assert serve.running_pid() is None
    assert serve.stop() is None


def test_stop_without_a_directory_creates_nothing(tmp_path: Path) -> None:
    serve = BackgroundServe(tmp_path / "never", SLEEPER)
    assert serve.stop() is None
    assert serve.running_pid() is None
    assert not (tmp_path / "never").exists()


def test_a_pid_file_naming_another_program_is_never_signalled(
    serve: BackgroundServe, tmp_path: Path
) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        serve.directory.mkdir()
        serve.pid_file.write_text(f"{stranger.pid}\n")  # a recycled pid
        assert serve.running_pid() is None
        assert serve.stop() is None
        assert stranger.poll() is None
        started = serve.start([tmp_path], 18123)
        assert started.replaced is None
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_serve_of_another_directory_is_not_ours(make_serve: ServeFactory, tmp_path: Path) -> None:
    one = make_serve(tmp_path / "one")
    other = make_serve(tmp_path / "other")
    started = one.start([tmp_path], 18123)
    other.directory.mkdir()
    other.pid_file.write_text(f"{started.pid}\n")
    assert other.running_pid() is None
    assert other.stop() is None
    assert alive(started.pid)


def test_a_serve_ignoring_sigterm_is_killed(make_serve: ServeFactory, tmp_path: Path) -> None:
    serve = make_serve(tmp_path / "demo", STUBBORN)
    started = serve.start([tmp_path], 18123)
    wait_for_line(serve, "ready")  # its SIGTERM handler is in place
    assert serve.stop(timeout=0.5) == started.pid
    assert not alive(started.pid)


def wait_for_line(serve: BackgroundServe, text: str) -> None:
    for _ in range(200):
        if text in serve.log_file.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {serve.log_file}")


def test_listening_once_the_connection_has_an_event_cursor(tmp_path: Path) -> None:
    serve = BackgroundServe(tmp_path, SLEEPER)
    assert not serve.listening("sandbox")
    with contextlib.closing(sqlite3.connect(serve.database)) as db:
        assert not serve.listening("sandbox")  # created, not migrated yet
        db.execute("CREATE TABLE event_cursors (connection TEXT PRIMARY KEY)")
        db.commit()
        assert not serve.listening("sandbox")
        db.execute("INSERT INTO event_cursors VALUES ('other')")
        db.commit()
        assert not serve.listening("sandbox")
        db.execute("INSERT INTO event_cursors VALUES ('sandbox')")
        db.commit()
    assert serve.listening("sandbox")


def test_active_items_counts_what_is_queued_or_running(tmp_path: Path) -> None:
    serve = BackgroundServe(tmp_path, SLEEPER)
    assert serve.active_items() == 0  # no store yet
    with contextlib.closing(sqlite3.connect(serve.database)) as db:
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, state TEXT)")
        states = ["new", "running", "running", "finished", "superseded", "dequeued"]
        db.executemany("INSERT INTO items (state) VALUES (?)", [(state,) for state in states])
        db.commit()
    assert serve.active_items() == 3
