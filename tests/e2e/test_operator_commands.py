"""Operator commands against a real `crosscheck serve` and the real sandbox Gerrit.

The pipeline's only trigger never matches, so nothing is built unless an operator
enqueues it. Commands run as a user runs them (`python -m crosscheck ...`); what
Gerrit shows is read back, and the service's store where "nothing happened" must
be proved.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from crosscheck.model.report import RESULTS_SERVICE
from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState

from .ci_loop_harness import (
    PROJECT,
    ServeProcess,
    change_detail,
    ci_messages,
    ci_vote,
    poll,
    running_serve,
    wait_reports,
    write_config,
)

ADMIN_TOKEN = "ccr_" + uuid.uuid4().hex

#: `check` has jobs for the sandbox project only; its trigger never matches.
CONFIG = """\
- ci:
    name: operator-ci
    admin_token_file: admin-token
- label:
    name: local
- pipeline:
    name: check
    manager: independent
    trigger:
      sandbox:
        - event: comment-added
          comment: "^never-matches-operator-e2e$"
    success:
      sandbox:
        labels: {Verified: 1}
    failure:
      sandbox:
        labels: {Verified: -1}
- job:
    name: hello
    node: local
    run:
      - 'if [ -f SLEEP ]; then sleep "$(cat SLEEP)"; fi'
- project:
    name: sandbox/ci-sandbox
    check:
      jobs: [hello]
- executor:
    slots: 2
    # Mirrors of its own: other sandboxes' projects have the same names.
    git_cache: git
"""


@pytest.fixture(scope="module")
def serve(sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    sandbox = SandboxState.load(sandbox_dir)
    root = tmp_path_factory.mktemp("operator")
    config = write_config(sandbox, root / "config", ci_yaml=CONFIG)
    (config / "admin-token").write_text(ADMIN_TOKEN + "\n")
    with running_serve(config, root / "state") as made:
        yield made


@pytest.fixture(scope="module")
def token_file(serve: ServeProcess) -> Path:
    return serve.config / "admin-token"


def crosscheck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command; wide, so that rich does not fold URLs."""
    ambient = ("CROSSCHECK_ADMIN_TOKEN", "CROSSCHECK_URL")
    environment = {k: v for k, v in os.environ.items() if k not in ambient}
    environment.update({"COLUMNS": "250", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "crosscheck", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=environment,
    )


def succeeded(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def enqueue(serve: ServeProcess, token_file: Path, pushed: PushedChange) -> str:
    return succeeded(
        crosscheck(
            "enqueue", "--url", serve.url, "--token-file", str(token_file),
            "--pipeline", "check", "--change", str(pushed.number),
        )
    )  # fmt: skip


async def push(
    sandbox: SandboxState, tmp_path: Path, files: dict[str, str], subject: str
) -> PushedChange:
    work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    unique = f"operator-{uuid.uuid4().hex[:8]}.txt"
    return await work.push_change({unique: "1\n", **files}, subject)


async def running_build(serve: ServeProcess, pushed: PushedChange) -> dict[str, Any]:
    async def running() -> dict[str, Any] | None:
        async with httpx.AsyncClient() as http:
            status = (await http.get(f"{serve.url}/api/v1/status")).json()
        builds = [b for b in status["running_builds"] if b["change"] == pushed.number]
        return builds[0] if builds else None

    return await poll(running, 120, f"a running build of change {pushed.number}", serve)


async def wait_seen(serve: ServeProcess, pushed: PushedChange) -> None:
    """Until the service has processed the patchset's upload event."""
    key = f"sandbox|patchset-created|{PROJECT}|{pushed.number}|{pushed.patchset}|%"

    async def seen() -> bool | None:
        rows = serve.query("SELECT 1 FROM seen_events WHERE event_key LIKE ?", key)
        return True if rows else None

    await poll(seen, 60, f"the upload of change {pushed.number} to be processed", serve)


async def test_enqueue_of_a_change_no_trigger_matched_builds_it_and_reports_once(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, token_file: Path
) -> None:
    pushed = await push(sandbox, tmp_path, {}, "Built only when an operator asks")
    await wait_seen(serve, pushed)
    assert serve.query("SELECT id FROM items WHERE change_number = ?", pushed.number) == []

    said = enqueue(serve, token_file, pushed)

    assert said.startswith(
        f"enqueued change {pushed.number},1 in check ({PROJECT}, master) as item "
    )
    detail = await wait_reports(sandbox, pushed, serve)
    assert ci_vote(detail) == 1
    (message,) = ci_messages(detail)
    assert "Build succeeded (check pipeline).\n\n- hello " in message["message"]
    assert f"http://127.0.0.1:{serve.port}/logs/" in message["message"]
    assert serve.query("SELECT state FROM items WHERE change_number = ?", pushed.number) == [
        ("finished",)
    ]
    await asyncio.sleep(2)  # a second report would be on its way by now
    assert len(ci_messages(await change_detail(sandbox, pushed))) == 1

    # One review on Gerrit, and the job results to serve's results service, as for
    # any triggered item.
    async def sent() -> list[Any] | None:
        rows = serve.query(
            "SELECT connection, state FROM reports WHERE change_number = ? ORDER BY connection",
            pushed.number,
        )
        return rows if all(state == "sent" for _, state in rows) else None

    reports = await poll(sent, 30, "the reports to be sent", serve)
    # The results service: the jobs running, then their results.
    assert reports == sorted(
        [("sandbox", "sent"), (RESULTS_SERVICE, "sent"), (RESULTS_SERVICE, "sent")]
    )


async def test_status_shows_a_running_build(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, token_file: Path
) -> None:
    pushed = await push(sandbox, tmp_path, {"SLEEP": "300\n"}, "Runs while status is read")
    enqueue(serve, token_file, pushed)
    build = await running_build(serve, pushed)
    try:
        shown = succeeded(crosscheck("status", "--url", serve.url))
        as_json = json.loads(succeeded(crosscheck("status", "--url", serve.url, "--json")))
    finally:
        succeeded(
            crosscheck(
                "dequeue", "--url", serve.url, "--item", str(build["item"]),
                env={"CROSSCHECK_ADMIN_TOKEN": ADMIN_TOKEN},
            )
        )  # fmt: skip

    assert "check (independent): 1 item(s)" in shown
    assert f"item {build['item']}  {pushed.number},1  {PROJECT} (master)  running" in shown, shown
    assert "enqueued by an operator" in shown
    assert f"hello  running  {build['node']}" in shown
    assert build["log_url"].startswith(f"http://127.0.0.1:{serve.port}/logs/")
    assert build["log_url"] in shown
    assert "1 build(s) running, 0 waiting for a node" in shown
    (item,) = as_json["pipelines"][0]["items"]
    assert (item["change"], item["state"], item["why"]) == (
        pushed.number,
        "running",
        "enqueued by an operator",
    )
    assert [b["id"] for b in as_json["running_builds"]] == [build["id"]]


async def test_dequeue_of_a_running_item_cancels_its_build_and_posts_no_report(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, token_file: Path
) -> None:
    pushed = await push(sandbox, tmp_path, {"SLEEP": "300\n"}, "Dequeued while it runs")
    enqueue(serve, token_file, pushed)
    build = await running_build(serve, pushed)

    said = succeeded(
        crosscheck(
            "dequeue", "--url", serve.url, "--pipeline", "check",
            "--change", str(pushed.number), env={"CROSSCHECK_ADMIN_TOKEN": ADMIN_TOKEN},
        )
    )  # fmt: skip

    assert said == (
        f"dequeued item {build['item']}: change {pushed.number},1 in check; canceled: hello\n"
    )
    log_dir = serve.state / "logs" / unquote(build["log_url"].split("/logs/", 1)[1])

    async def stopped() -> dict[str, Any] | None:
        record = json.loads((log_dir / "build.json").read_text())
        return record if record.get("result") else None

    record = await poll(stopped, 60, "the build's processes to be stopped", serve)
    assert record["result"] == "CANCELED"
    assert serve.query("SELECT state, detail FROM items WHERE id = ?", build["item"]) == [
        ("dequeued", "dequeued by an operator")
    ]
    assert serve.query("SELECT state FROM builds WHERE item_id = ?", build["item"]) == [
        ("canceled",)
    ]
    # A change enqueued afterwards is reported: had the dequeued one been going to
    # be, it would have been by then.
    control = await push(sandbox, tmp_path / "control", {}, "Control change")
    enqueue(serve, token_file, control)
    await wait_reports(sandbox, control, serve)
    detail = await change_detail(sandbox, pushed)
    assert ci_messages(detail) == []
    assert ci_vote(detail) is None
    # Nothing for Gerrit; the results service is told its jobs ended (they showed running).
    destinations = serve.query(
        "SELECT DISTINCT connection FROM reports WHERE change_number = ?", pushed.number
    )
    assert destinations == [(RESULTS_SERVICE,)]
    dequeued_again = crosscheck(
        "dequeue", "--url", serve.url, "--item", str(build["item"]),
        env={"CROSSCHECK_ADMIN_TOKEN": ADMIN_TOKEN},
    )  # fmt: skip
    assert dequeued_again.returncode == 1
    assert f"item {build['item']} (change {pushed.number},1 in check) is dequeued already" in (
        dequeued_again.stderr
    )


async def test_refusals_name_the_real_problem(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, token_file: Path
) -> None:
    other = await SandboxRepo(sandbox, "sandbox/second", tmp_path / "second").open()
    elsewhere = await other.push_change({"a.txt": "1\n"}, "A change of another project")
    wrong = tmp_path / "wrong-token"
    wrong.write_text("ccr_not-the-token\n")

    def attempt(change: int, token: Path) -> str:
        completed = crosscheck(
            "enqueue", "--url", serve.url, "--token-file", str(token),
            "--pipeline", "check", "--change", str(change),
        )  # fmt: skip
        assert completed.returncode == 1, completed.stdout
        return completed.stderr

    assert (
        f"change {elsewhere.number} is in project 'sandbox/second', which has no jobs in "
        "pipeline 'check' (projects with jobs there: sandbox/ci-sandbox)"
    ) in attempt(elsewhere.number, token_file)
    assert "change 999999 is not on connection 'sandbox', or its account" in attempt(
        999999, token_file
    )
    assert "crosscheck serve refused the token" in attempt(elsewhere.number, wrong)
    unreachable = crosscheck("status", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1
    assert "cannot reach crosscheck serve at http://127.0.0.1:9" in unreachable.stderr
    assert serve.query("SELECT id FROM items WHERE change_number = ?", elsewhere.number) == []
