"""`crosscheck results serve --gerrit-url` against the real sandbox Gerrit: a CI's first
verify-status report on a change, named by number as Buildbot names it, is placed by
asking Gerrit; an unknown change is still a clear 404."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crosscheck.sandbox.gerrit import SandboxRepo, SandboxState
from crosscheck.sandbox.gerrit.site import free_port
from tests.results_server import wait_until_serving

PROJECT = "sandbox/ci-sandbox"
CROSSCHECK = [sys.executable, "-m", "crosscheck"]
PATH = "/a/changes/{change}/revisions/{revision}/verify-status~verifications"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CROSSCHECK, *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def results_url(sandbox: SandboxState, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    store = f"sqlite+aiosqlite:///{tmp_path / 'results.db'}"
    log_path = tmp_path / "results.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*CROSSCHECK, "results", "serve", "--store", store, "--port", str(port),
             "--no-ssh", "--gerrit-url", sandbox.http_url],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log_path)
            created = run(
                "results", "account", "create", "Buildbot CI", "--store", store,
                "--project", "sandbox/*", "--token-file", str(tmp_path / "token"),
            )  # fmt: skip
            assert created.returncode == 0, created.stderr
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


async def test_a_first_report_by_change_number_is_placed_by_gerrit(
    sandbox: SandboxState, results_url: str, tmp_path: Path
) -> None:
    repo = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    pushed = await repo.push_change({"lookup.txt": "1\n"}, "A change no CI reported on yet")
    token = (tmp_path / "token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    # Buildbot's GerritVerifyStatusPush body: flat, the change by number, the patchset too.
    flat = {"name": "bb-unit", "value": 1, "url": "https://bb.example/1", "duration": "12s"}
    async with httpx.AsyncClient(base_url=results_url, timeout=30) as http:
        posted = await http.post(
            PATH.format(change=pushed.number, revision=1), json=flat, headers=headers
        )
        assert posted.status_code == 204, posted.text
        read = await http.get(f"/api/v1/changes/{pushed.number}/results")
        (stored,) = read.json()["results"]
        assert (stored["project"], stored["patchset"], stored["job"]) == (PROJECT, 1, "bb-unit")
        # By commit id too (the SSH command's and the plugin's other form).
        by_commit = await http.post(
            PATH.format(change=pushed.number, revision=pushed.revision[:10]),
            json=flat | {"name": "bb-lint"},
            headers=headers,
        )
        assert by_commit.status_code == 204, by_commit.text
        # Known change, a patchset it does not have: Gerrit says so, nothing is stored.
        no_such = await http.post(
            PATH.format(change=pushed.number, revision=7), json=flat, headers=headers
        )
        assert no_such.status_code == 404, no_such.text
        assert "has no revision '7'" in no_such.json()["detail"]
        unknown = await http.post(
            PATH.format(change=999999, revision=1), json=flat, headers=headers
        )
    assert unknown.status_code == 404
    assert unknown.json()["detail"].endswith("Gerrit has no change '999999'")
