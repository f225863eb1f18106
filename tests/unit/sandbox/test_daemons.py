"""Background processes by pid: only ours are signalled; SIGTERM, then SIGKILL, then gone."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crosscheck.sandbox import daemons
from crosscheck.sandbox.gerrit.site import free_port

MARKER = "crosscheck-test-daemon"
#: Ignores SIGTERM, so only SIGKILL stops it; says when its handler is in place.
STUBBORN = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(120)"
)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN, MARKER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        yield process
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_is_ours_needs_every_marker_on_the_command_line(child: subprocess.Popen[str]) -> None:
    assert daemons.is_ours(child.pid, [MARKER])
    assert daemons.is_ours(child.pid, [sys.executable, MARKER])
    assert not daemons.is_ours(child.pid, [MARKER, "another"])
    assert not daemons.is_ours(child.pid, [])
    assert not daemons.is_ours(None, [MARKER])
    assert not daemons.is_ours(1, [MARKER])  # init: alive, but not ours


def test_an_exited_child_is_reaped_and_gone() -> None:
    # No Popen: nothing else may collect its exit status first.
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", "pass"], os.environ)
    deadline = time.monotonic() + 10
    while not daemons.gone(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not Path(f"/proc/{pid}").exists()  # reaped: no zombie left
    assert not daemons.reaped(pid)  # nothing left to collect


def test_stop_kills_what_ignores_sigterm_and_waits_until_it_is_gone(
    child: subprocess.Popen[str],
) -> None:
    assert daemons.stop(child.pid, [MARKER], timeout=0.2)
    assert daemons.gone(child.pid)
    assert not Path(f"/proc/{child.pid}").exists()


def test_stop_leaves_a_process_that_is_not_ours_alone(child: subprocess.Popen[str]) -> None:
    assert daemons.stop(child.pid, [MARKER, "another"], timeout=0.2)
    assert child.poll() is None


class _Version(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ready" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Version)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def test_answers_only_on_200_ok(server: str) -> None:
    assert await daemons.answers(f"{server}/ready")
    assert not await daemons.answers(f"{server}/starting")
    assert not await daemons.answers(f"http://127.0.0.1:{free_port()}/ready", timeout=0.5)
