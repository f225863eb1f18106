"""The CLI end to end: `crosscheck results account ...`, `results serve` and `report`,
as real processes on the store under test."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncssh
import httpx
import pytest

from crosscheck.model.candidate import Candidate
from crosscheck.store import open_store, promotion
from tests.integration.results.helpers import plugin_json
from tests.results_server import wait_until_serving

CROSSCHECK = [sys.executable, "-m", "crosscheck"]
ADMIN_TOKEN = "cli-admin-token"
UNIT_FAILED = {
    "project": "openstack/nova",
    "change": 1234,
    "patchset": 2,
    "job": "unit",
    "value": "failed",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CROSSCHECK, *args],
        capture_output=True,
        text=True,
        env=(os.environ | (env or {})),
        input=stdin,
        timeout=120,
        check=False,
    )


@dataclass
class Server:
    url: str
    ssh_port: int
    store_url: str
    tmp: Path
    process: subprocess.Popen[bytes]

    def report(self, *args: str, token_file: Path) -> subprocess.CompletedProcess[str]:
        return run("report", "--server", self.url, "--token-file", str(token_file), *args)


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[Server]:
    port, ssh_port = free_port(), free_port()
    admin_file = tmp_path / "admin-token"
    admin_file.write_text(ADMIN_TOKEN)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [*CROSSCHECK, "results", "serve", "--store", store_url, "--port", str(port),
         "--ssh-port", str(ssh_port), "--host-key", str(tmp_path / "host_key"),
         "--admin-token-file", str(admin_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, tmp_path / "serve.log")
        yield Server(url, ssh_port, store_url, tmp_path, process)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
        log.close()
    assert ADMIN_TOKEN not in (tmp_path / "serve.log").read_text()


def test_accounts_report_and_refusals_through_the_cli(server: Server) -> None:
    token_file = server.tmp / "nova-ci.token"
    created = run(
        "results", "account", "create", "Nova CI", "--store", server.store_url,
        "--project", "openstack/*", "--owner", "ci@example.org", "--token-file", str(token_file),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text().strip()
    assert token not in created.stdout + created.stderr

    single = server.report(
        "--project", "openstack/nova", "--change", "1234", "--patchset", "2",
        "--job", "tempest-full", "--result", "passed", "--url", "https://ci.example.org/1",
        "--duration", "1m 30s", "--non-voting", token_file=token_file,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    assert single.stdout.startswith("stored 1 result(s): ")

    batch = server.tmp / "batch.json"
    batch.write_text(json.dumps([UNIT_FAILED, UNIT_FAILED | {"job": "pep8", "value": "nope"}]))
    refused = server.report("--batch", str(batch), token_file=token_file)
    assert refused.returncode == 1
    assert "refused the report (422)" in refused.stderr
    assert "results[1].value" in refused.stderr

    missing = server.report("--project", "openstack/nova", token_file=token_file)
    assert missing.returncode == 2
    assert "missing --change, --patchset, --job, --result" in missing.stderr

    read = httpx.get(f"{server.url}/api/v1/changes/1234/results").json()["results"]
    assert [(r["job"], r["voting"], r["duration"]) for r in read] == [("tempest-full", False, 90)]

    disabled = run("results", "account", "disable", "Nova CI", "--reason", "lab move",
                   "--store", server.store_url)  # fmt: skip
    assert disabled.returncode == 0, disabled.stderr
    listed = run("results", "account", "list", "--store", server.store_url)
    assert "Nova CI" in listed.stdout
    assert "lab move" in listed.stdout
    again = server.report("--batch", str(batch), token_file=token_file)
    assert again.returncode == 1
    assert "'Nova CI' is disabled (lab move)" in again.stderr

    assert (
        run("results", "account", "enable", "Nova CI", "--store", server.store_url).returncode == 0
    )
    rotated = run("results", "account", "rotate-token", "Nova CI", "--store", server.store_url)
    assert rotated.returncode == 0
    stale = server.report("--batch", str(batch), token_file=token_file)
    assert "(401)" in stale.stderr
    token_file.write_text(rotated.stdout.strip())
    batch.write_text(json.dumps({"results": [UNIT_FAILED]}))
    assert server.report("--batch", str(batch), token_file=token_file).returncode == 0


async def _record(store_url: str, candidate: Candidate) -> None:
    engine = await open_store(store_url)
    try:
        async with engine.begin() as db:
            await promotion.record_candidate(db, candidate, "operator", datetime.now(UTC))
    finally:
        await engine.dispose()


def test_report_on_a_candidate(server: Server) -> None:
    token_file = server.tmp / "functest.token"
    created = run("results", "account", "create", "functest-ci", "--store", server.store_url,
                  "--token-file", str(token_file))  # fmt: skip
    assert created.returncode == 0, created.stderr
    candidate = Candidate("os-nosdn", {"apex": "a" * 40})
    asyncio.run(_record(server.store_url, candidate))

    stored = server.report(
        "--candidate", candidate.id, "--job", "functest-smoke", "--result", "SUCCESS",
        "--url", "https://ci.example.org/9", "--duration", "2m", token_file=token_file,
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.startswith("stored 1 result(s): ")
    read = httpx.get(f"{server.url}/api/v1/candidates/{candidate.id}/results").json()["results"]
    assert [(r["ci"], r["job"], r["value"], r["duration"]) for r in read] == [
        ("functest-ci", "functest-smoke", "passed", 120)
    ]

    mixed = server.report("--candidate", candidate.id, "--change", "3", "--job", "j",
                          "--result", "passed", token_file=token_file)  # fmt: skip
    assert mixed.returncode == 2
    assert "--change: not for a result on a candidate" in mixed.stderr
    short = server.report("--candidate", candidate.id[:12], "--job", "j", "--result", "passed",
                          token_file=token_file)  # fmt: skip
    assert short.returncode == 2
    assert "64 hex digits" in short.stderr
    unknown = server.report("--candidate", "f" * 64, "--job", "j", "--result", "passed",
                            token_file=token_file)  # fmt: skip
    assert unknown.returncode == 1
    assert "refused the report (404)" in unknown.stderr
    assert f"no candidate {'f' * 64}" in unknown.stderr


async def test_the_ssh_command_of_results_serve(server: Server) -> None:
    run("results", "account", "create", "a", "--store", server.store_url, "--project", "*",
        "--token-file", str(server.tmp / "t"))  # fmt: skip
    key = asyncssh.generate_private_key("ssh-ed25519")
    added = run("results", "account", "add-key", "a", "-", "--store", server.store_url,
                stdin=key.export_public_key("openssh").decode())  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "SHA256:" in added.stderr
    host_key = asyncssh.read_private_key(server.tmp / "host_key")
    known = asyncssh.import_known_hosts(
        f"[127.0.0.1]:{server.ssh_port} {host_key.export_public_key('openssh').decode()}"
    )
    async with asyncssh.connect(
        "127.0.0.1", server.ssh_port, username="a", client_keys=[key], known_hosts=known,
        agent_path=None,
    ) as connection:  # fmt: skip
        done = await connection.run(
            "verify-status save -p x/y -v 'name=j|value=1' 5,1", check=False, timeout=30
        )
    assert done.exit_status == 0, done.stderr
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{server.url}/a/changes/5/revisions/1/verify-status~verifications")
    read = plugin_json(answer)
    assert [(i["name"], i["reporter"]) for i in read.values()] == [("j", "a")]


def test_results_serve_reads_its_admin_token_file_at_each_request(server: Server) -> None:
    def accounts(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{server.url}/api/v1/accounts/none/ssh-keys", headers=headers).status_code

    assert accounts(ADMIN_TOKEN) == 404
    (server.tmp / "admin-token").write_text("rotated-admin-token")
    assert accounts(ADMIN_TOKEN) == 401
    assert accounts("rotated-admin-token") == 404


def test_report_needs_a_token(tmp_path: Path) -> None:
    done = run("report", "--server", "http://127.0.0.1:9", "--project", "p",
               env={"CROSSCHECK_RESULTS_TOKEN": ""})  # fmt: skip
    assert done.returncode == 1
    assert "CROSSCHECK_RESULTS_TOKEN is not set" in done.stderr
    token = tmp_path / "token"
    token.write_text("t")
    unreachable = run("report", "--server", f"http://127.0.0.1:{free_port()}", "--token-file",
                      str(token), "--project", "p", "--change", "1", "--patchset", "1", "--job",
                      "j", "--result", "passed")  # fmt: skip
    assert unreachable.returncode == 3  # not stored: send it again
    assert "cannot reach the results service" in unreachable.stderr
    assert "not stored, send it again" in unreachable.stderr


def test_a_stop_signal_closes_the_service_and_says_so(server: Server) -> None:
    """SIGTERM: the requests in flight finish, the SSH server and the store close, and the
    log says it stopped; the exit status is 0 (uvicorn's own handling raised the signal
    again, which ended the process before any of that)."""
    assert httpx.get(f"{server.url}/health").status_code == 200
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    log = (server.tmp / "serve.log").read_text()
    assert "results: SIGTERM: stopping" in log
    assert log.rstrip().endswith("results: stopped")


def test_reading_accounts_from_a_store_that_is_not_there_makes_none(tmp_path: Path) -> None:
    """A mistyped --store (or a state directory of another user) would otherwise answer
    with an empty table from a store made for the occasion."""
    for args in (("account", "list"), ("audit",)):
        env = {"CROSSCHECK_STATE_DIR": str(tmp_path / "state"), "CROSSCHECK_STORE_URL": ""}
        done = run("results", *args, env=env)
        assert done.returncode == 1, done.stderr
        store = tmp_path / "state" / "crosscheck.db"
        assert f"no store at {store}: nothing has been stored there yet" in done.stderr
        assert not store.exists()
