"""What an operator sees of a real `crosscheck serve`: its log, its access log, /metrics
scraped as Prometheus would, a busy port; and the sandbox Gerrit's release number."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crosscheck.sandbox.gerrit import SandboxRepo, SandboxState
from crosscheck.sandbox.gerrit.distribution import GERRIT_VERSION
from crosscheck.sandbox.gerrit.site import free_port

from .ci_loop_harness import (
    PROJECT,
    ServeProcess,
    ci_vote,
    poll,
    running_serve,
    wait_reports,
    write_config,
)
from .gerrit_clients import ci_rest

#: A record's first line: ISO 8601 UTC time, level, logger, message.
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) [\w.]+: ")

#: Every family docs/operator.md lists, as the text format names them.
FAMILIES = (
    "crosscheck_gerrit_stream_connected",
    "crosscheck_gerrit_stream_reconnects_total",
    "crosscheck_events_total",
    "crosscheck_events_ignored_total",
    "crosscheck_gerrit_reads_spared_total",
    "crosscheck_queue_items",
    "crosscheck_queue_builds",
    "crosscheck_builds_total",
    "crosscheck_reports_pending",
    "crosscheck_reports_total",
    "crosscheck_reports_given_up_total",
    "crosscheck_report_delivery_seconds",
    "crosscheck_http_requests_total",
    "crosscheck_http_request_seconds",
)

T = TypeVar("T")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


async def scrape(url: str) -> tuple[str, Samples]:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{url}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return answer.text, samples(answer.text)


# -- the sandbox's release number ---------------------------------------------------------


async def test_the_sandbox_answers_its_release_number_over_ssh_and_rest(
    sandbox: SandboxState,
) -> None:
    async with asyncssh.connect(
        "127.0.0.1",
        port=sandbox.ssh_port,
        username=sandbox.ci.username,
        client_keys=[str(sandbox.ci.ssh_key)],
        known_hosts=str(sandbox.known_hosts),
    ) as ssh:
        answered = await ssh.run("gerrit version", check=True)
    assert answered.stdout == f"gerrit version {GERRIT_VERSION}\n"
    async with ci_rest(sandbox) as rest:
        assert await rest.get("/config/server/version") == GERRIT_VERSION


# -- serve: its log, access log and metrics -----------------------------------------------


@pytest.fixture
def serve(sandbox_dir: Path, tmp_path: Path) -> Iterator[ServeProcess]:
    sandbox = SandboxState.load(sandbox_dir)
    with running_serve(write_config(sandbox, tmp_path / "config"), tmp_path / "state") as made:
        yield made
    assert made.process is not None
    assert made.process.returncode == 0  # a SIGTERM is a clean stop


async def test_serve_logs_requests_and_exports_metrics_of_a_whole_loop(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess
) -> None:
    async def connected() -> Samples | None:
        _, found = await scrape(serve.url)
        up = value(found, "crosscheck_gerrit_stream_connected", connection="sandbox") == 1
        return found if up else None

    # serve answers HTTP a moment before its stream has connected.
    before = await poll(connected, 30, "the stream connected in /metrics", serve)
    assert (
        value(before, "crosscheck_gerrit_stream_reconnects_total", connection="sandbox") or 0
    ) >= 1

    work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    pushed = await work.push_change({f"ops-{uuid.uuid4().hex[:8]}.txt": "ok\n"}, "Seen by ops")
    detail = await wait_reports(sandbox, pushed, serve)
    assert ci_vote(detail) == 1

    async def reported() -> tuple[str, Samples] | None:
        text, found = await scrape(serve.url)
        sent = value(found, "crosscheck_reports_total", connection="sandbox", state="sent")
        return (text, found) if sent else None

    text, after = await poll(reported, 30, "the report counted in /metrics", serve)
    for family in FAMILIES:
        assert f"# HELP {family} " in text, family
    new_events = value(
        after, "crosscheck_events_total", connection="sandbox", origin="stream", outcome="new"
    )
    assert new_events is not None
    assert new_events >= 1
    assert value(after, "crosscheck_gerrit_stream_connected", connection="sandbox") == 1
    # A job matches files (irrelevant_files): planning read the change and its files.
    planning = value(
        after, "crosscheck_gerrit_reads_spared_total", connection="sandbox", read="planning"
    )
    assert planning == 0
    # Queue depths come from the store: nothing is left once the report went out.
    assert value(after, "crosscheck_queue_items", pipeline="check", state="running") == 0
    assert value(after, "crosscheck_queue_builds", state="waiting") == 0
    assert value(after, "crosscheck_reports_pending", connection="sandbox") == 0
    # A request is counted once answered: the scrapes before this one at least.
    assert (value(after, "crosscheck_http_requests_total", method="GET", status="200") or 0) >= 1

    async with httpx.AsyncClient(base_url=serve.url, timeout=10) as http:
        # An uptime checker's HEAD gets the GET's head, and is logged as a HEAD.
        for path in ("/metrics", "/health"):
            head = await http.head(path)
            assert (head.status_code, head.content) == (200, b""), path
        no_admin = await http.post("/api/v1/enqueue", json={"pipeline": "check", "change": 1})
        wrong = await http.post(
            "/api/v1/results",
            json={"project": PROJECT, "change": 1, "patchset": 1, "job": "x", "value": "passed"},
            headers={"Authorization": "Bearer not-a-token-" + "z" * 20},
        )
    assert (no_admin.status_code, wrong.status_code) == (403, 401)

    async def logged() -> str | None:
        log = serve.log.read_text()
        return log if "POST /api/v1/results -> 401" in log else None

    log = await poll(logged, 10, "the refusal in the access log", serve)
    records = [line for line in log.splitlines() if LINE.match(line)]
    # One line per record: each line that is not part of a traceback starts a record.
    assert records, log
    assert all(LINE.match(line) or line.startswith((" ", "Traceback")) for line in log.splitlines())
    number = f"change {pushed.number},1"
    named = f"change sandbox:{pushed.number},1"  # the scheduler names the change's Gerrit
    expected = [
        r"INFO crosscheck\.serve\.lifecycle: crosscheck \S+ serving on " + re.escape(serve.url),
        r"INFO crosscheck\.drivers\.gerrit\.stream: gerrit sandbox: stream connected$",
        r"INFO crosscheck\.drivers\.gerrit\.source: gerrit sandbox: caught up since \S+: "
        r"\d+ event\(s\) read from up to 1m 00s before it, \d+ new$",
        rf"INFO crosscheck\.scheduler\.scheduler: item \d+ for {named} in check$",
        rf"INFO crosscheck\.reports\.queue: report item-\d+-sandbox on {number}: sent via rest",
        r"INFO crosscheck\.access: GET /metrics -> 200 in \d+\.\d ms from 127\.0\.0\.1:\d+$",
        r"INFO crosscheck\.access: HEAD /health -> 200 in ",
        r"WARNING crosscheck\.access: POST /api/v1/enqueue -> 403 in ",
        r"WARNING crosscheck\.access: POST /api/v1/results -> 401 in ",
    ]
    for pattern in expected:
        assert any(re.search(pattern, line) for line in records), (pattern, log)
    assert "not-a-token" not in log

    serve.stop()
    stopped = serve.log.read_text()
    assert "Task was destroyed" not in stopped
    assert "Traceback" not in stopped
    assert "WARNING crosscheck.serve.lifecycle: crosscheck stopped (SIGTERM)" in stopped


# -- a busy port ----------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as held:
        yield held.getsockname()[1]


def run_cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CROSSCHECK_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "crosscheck", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_serve_on_a_busy_port_says_so_in_one_line_and_creates_nothing(
    tmp_path: Path, busy_port: int
) -> None:
    config = tmp_path / "ci.yaml"
    config.write_text("- ci: {name: Ops CI}\n")
    state = tmp_path / "state"
    ran = run_cli(state, "serve", "-c", str(config), "--port", str(busy_port))
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr == (
        f"crosscheck serve: port {busy_port} on 127.0.0.1 is in use: "
        "stop what uses it or pass --port\n"
    )
    # No database, no CI account's token: the state directory was never even made.
    assert not state.exists()


def test_results_serve_on_a_busy_port_too(tmp_path: Path, busy_port: int) -> None:
    store = tmp_path / "results.db"
    ran = run_cli(
        tmp_path / "state",
        "results", "serve", "--no-ssh", "--port", str(busy_port),
        "--store", f"sqlite+aiosqlite:///{store}",
    )  # fmt: skip
    assert ran.returncode == 2
    assert ran.stderr == (
        f"crosscheck results serve: port {busy_port} on 127.0.0.1 is in use: "
        "stop what uses it or pass --port\n"
    )
    assert not store.exists()


# -- results serve: access log and metrics --------------------------------------------------


class ResultsServe:
    """`crosscheck results serve` as a subprocess, logging JSON lines to a file."""

    def __init__(self, directory: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = directory / "results.log"
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "CROSSCHECK_STATE_DIR": str(self.directory / "state")}
        command = [
            sys.executable, "-m", "crosscheck", "results", "serve", "--no-ssh",
            "--port", self.url.rsplit(":", 1)[1],
            "--store", f"sqlite+aiosqlite:///{self.directory / 'results.db'}",
            "--log-format", "json",
        ]  # fmt: skip
        with self.log.open("w") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=output, env=env)

    async def until(self, check: Callable[[], Awaitable[T | None]], what: str) -> T:
        deadline = time.monotonic() + 30
        while (found := await check()) is None:
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {what}:\n{self.log.read_text()}")
            await asyncio.sleep(0.2)
        return found

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture
def results_serve(tmp_path: Path) -> Iterator[ResultsServe]:
    made = ResultsServe(tmp_path)
    made.start()
    try:
        yield made
    finally:
        made.stop()


async def test_results_serve_exports_metrics_and_logs_requests_as_json(
    results_serve: ResultsServe,
) -> None:
    url = results_serve.url

    async def answering() -> tuple[str, Samples] | None:
        try:
            return await scrape(url)
        except httpx.TransportError:
            return None

    await results_serve.until(answering, "answer from results serve")
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        refused = await http.post("/api/v1/accounts", json={"name": "x"})
    assert refused.status_code == 401
    text, found = await scrape(url)
    assert "# HELP crosscheck_http_requests_total " in text
    assert (value(found, "crosscheck_http_requests_total", method="POST", status="401") or 0) >= 1

    async def logged() -> list[Any] | None:
        lines = results_serve.log.read_text().splitlines()
        records = [json.loads(line) for line in lines if line]
        refusals = [r for r in records if r["message"].startswith("POST /api/v1/accounts -> 401")]
        return records if refusals else None

    records = await results_serve.until(logged, "refusal in the JSON log")
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    refusal = next(r for r in records if "-> 401" in r["message"])
    assert (refusal["level"], refusal["logger"]) == ("WARNING", "crosscheck.access")
    assert any(r["message"].startswith("results: HTTP on ") for r in records)
