"""A build's console followed through a real `crosscheck serve` and the real CLI, on a
change of the sandbox Gerrit: `crosscheck status` links the running build to its
console, `crosscheck console URL --follow` prints its lines as they come and exits as
the build ended, and the same URL shows the finished log afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crosscheck.sandbox.gerrit import SandboxRepo, SandboxState

from .ci_loop_harness import PROJECT, ServeProcess, poll, running_serve, write_config

ADMIN_TOKEN = "ccr_" + uuid.uuid4().hex

#: Only operators enqueue; `ticker` prints a coloured line a second for a few seconds.
CONFIG = """\
- ci:
    name: console-ci
    admin_token_file: admin-token
- label:
    name: local
- pipeline:
    name: check
    manager: independent
    trigger:
      sandbox:
        - event: comment-added
          comment: "^never-matches-console-e2e$"
    success:
      sandbox:
        labels: {Verified: 1}
    failure:
      sandbox:
        labels: {Verified: -1}
- job:
    name: ticker
    node: local
    run:
      - 'for i in 1 2 3 4 5 6; do printf "\\033[32mtick %s\\033[0m\\n" "$i"; sleep 1; done'
- project:
    name: sandbox/ci-sandbox
    check:
      jobs: [ticker]
- executor:
    slots: 1
    git_cache: git
"""


@pytest.fixture(scope="module")
def serve(sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    sandbox = SandboxState.load(sandbox_dir)
    root = tmp_path_factory.mktemp("console")
    config = write_config(sandbox, root / "config", ci_yaml=CONFIG)
    (config / "admin-token").write_text(ADMIN_TOKEN + "\n")
    with running_serve(config, root / "state") as made:
        yield made


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "crosscheck", *args]


def environment() -> dict[str, str]:
    ambient = ("CROSSCHECK_ADMIN_TOKEN", "CROSSCHECK_URL", "NO_COLOR")
    return {**{k: v for k, v in os.environ.items() if k not in ambient}, "COLUMNS": "250"}


def run(*args: str) -> str:
    completed = subprocess.run(
        command(*args), capture_output=True, text=True, check=False, timeout=120, env=environment()
    )
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}"
    return completed.stdout


async def test_a_running_build_is_followed_from_the_cli_and_its_page(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess
) -> None:
    work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    pushed = await work.push_change({f"console-{uuid.uuid4().hex[:8]}.txt": "1\n"}, "Ticks")
    run(
        "enqueue", "--url", serve.url, "--token-file", str(serve.config / "admin-token"),
        "--pipeline", "check", "--change", str(pushed.number),
    )  # fmt: skip

    async def running() -> dict[str, Any] | None:
        async with httpx.AsyncClient() as http:
            status = (await http.get(f"{serve.url}/api/v1/status")).json()
        return next((b for b in status["running_builds"] if b["change"] == pushed.number), None)

    build = await poll(running, 120, f"a running build of change {pushed.number}", serve)
    console_url = build["console_url"]
    assert console_url == f"{serve.url}/builds/{build['id']}/console"
    assert console_url in run("status", "--url", serve.url)

    following = subprocess.run(
        command("console", console_url, "--follow", "--url", serve.url),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=environment(),
    )

    assert following.returncode == 0, following.stderr
    lines = following.stdout.splitlines()
    texts = [line.split(" | ", 1)[1] for line in lines]
    assert [t for t in texts if t.startswith("tick")] == [f"tick {n}" for n in range(1, 7)]
    assert "\x1b" not in following.stdout  # piped: plain text
    assert texts[0] == f"crosscheck build {build['id']} (attempt 1)"
    assert any(t.startswith("--- result: SUCCESS in ") for t in texts)
    assert following.stderr.splitlines()[-1] == f"build {build['id']} (ticker): SUCCESS"
    async with httpx.AsyncClient() as http:
        page = await http.get(console_url)
    assert page.status_code == 200
    assert '<span class="fg2">tick 6</span>' in page.text
    assert "<script" not in page.text  # finished: no script
