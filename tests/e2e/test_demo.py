"""`bash scripts/demo`, the README's first command, against the session's sandbox.

The vote and message are read back from Gerrit; a second run restarts the one
`crosscheck serve` (never two), and `demo --stop` leaves none running while Gerrit
keeps running for the other tests.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crosscheck.drivers.gerrit.rest import change_id
from crosscheck.sandbox.demo import BackgroundServe
from crosscheck.sandbox.demo.flow import demo_dir
from crosscheck.sandbox.gerrit import SandboxState

from .ci_loop_harness import PROJECT, ci_messages, ci_vote
from .conftest import crosscheck
from .gerrit_clients import ci_rest

ROOT = Path(__file__).parents[2]
PUSHED = re.compile(r"^Pushed change (\d+),1 to sandbox/ci-sandbox", re.MULTILINE)


@pytest.fixture
def demo_serve(sandbox_dir: Path) -> Iterator[BackgroundServe]:
    serve = BackgroundServe(demo_dir(sandbox_dir))
    yield serve
    serve.stop()  # a CI left running would report on the other tests' changes too


def run_demo_script(sandbox_dir: Path) -> str:
    """As the README says, with the session's sandbox instead of the user's."""
    completed = subprocess.run(
        ["bash", "scripts/demo"],
        cwd=ROOT,
        env={**os.environ, "CROSSCHECK_SANDBOX_DIR": str(sandbox_dir)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def serve_pids(serve: BackgroundServe) -> list[int]:
    """Every process on the machine serving the demo's store."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "serve" in args and serve.database_url in args:
            found.append(int(entry.name))
    return found


async def change_detail(sandbox: SandboxState, number: int) -> Any:
    async with ci_rest(sandbox) as rest:
        return await rest.get(
            f"/changes/{change_id(PROJECT, number)}",
            params={"o": ["DETAILED_LABELS", "DETAILED_ACCOUNTS", "MESSAGES"]},
        )


async def check_reported(sandbox: SandboxState, output: str, port: int) -> int:
    """The change the output names carries one report: +1, both jobs, links to logs."""
    found = PUSHED.search(output)
    assert found, output
    number = int(found.group(1))
    detail = await change_detail(sandbox, number)
    (message,) = [m["message"] for m in ci_messages(detail)]
    assert ci_vote(detail) == 1
    assert "Build succeeded (check pipeline)." in message
    assert f"- hello http://127.0.0.1:{port}/logs/" in message
    whitespace = next(line for line in message.splitlines() if line.startswith("- whitespace "))
    assert " : SUCCESS in " in whitespace
    assert whitespace.endswith("(non-voting)")
    # What the user is shown: the vote, the message, where to look, how to stop.
    assert f"Verified +1 from crosscheck-ci on change {number},1" in output
    assert "    Build succeeded (check pipeline)." in output
    assert sandbox.rest_url(PROJECT, number) in output
    assert re.search(rf"^logs +hello +http://127\.0\.0\.1:{port}/logs/\S+/$", output, re.M)
    assert re.search(rf"^ +whitespace +http://127\.0\.0\.1:{port}/logs/\S+/$", output, re.M)
    assert sandbox.command("down") in output
    hello = re.search(r"^- hello (\S+) : ", message, re.M)
    assert hello, message
    async with httpx.AsyncClient(timeout=10) as client:  # serve's /logs/, no login
        console = await client.get(hello.group(1) + "console.log")
    assert console.status_code == 200
    assert f"Testing sandbox/ci-sandbox change {number},1" in console.text
    return number


async def test_the_demo_runs_the_loop_and_runs_again_with_one_serve(
    sandbox_dir: Path, sandbox: SandboxState, demo_serve: BackgroundServe
) -> None:
    first_output = run_demo_script(sandbox_dir)
    first_pid = demo_serve.running_pid()
    assert first_pid is not None
    assert demo_serve.port is not None
    first = await check_reported(sandbox, first_output, demo_serve.port)
    assert serve_pids(demo_serve) == [first_pid]
    assert "stream connected" in demo_serve.log_file.read_text()

    second_output = run_demo_script(sandbox_dir)
    second_pid = demo_serve.running_pid()
    assert f"crosscheck serve restarted (was pid {first_pid}): pid {second_pid}" in second_output
    second = await check_reported(sandbox, second_output, demo_serve.port)
    assert second != first
    assert serve_pids(demo_serve) == [second_pid]
    # The restarted serve caught up from its cursor and did not report the first again.
    assert len(ci_messages(await change_detail(sandbox, first))) == 1

    stopped = crosscheck(sandbox_dir, "demo", "--stop")
    assert stopped.stdout == f"The demo's crosscheck serve (pid {second_pid}) stopped.\n"
    assert serve_pids(demo_serve) == []
    assert not demo_serve.pid_file.exists()
    assert crosscheck(sandbox_dir, "status", check=False).returncode == 0  # Gerrit still runs
