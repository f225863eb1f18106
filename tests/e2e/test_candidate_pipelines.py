"""Pipelines of candidates end to end: a merge makes a candidate, crosscheck's post
pipeline of new candidates builds it (every component checked out at its commit) and
reports under the candidate, which reaches `verified`; that level moving makes the
next pipeline build it, and it reaches `daily` on those results; a periodic pipeline
(every minute here) then takes the candidate `daily` holds, and it reaches `weekly`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crosscheck.sandbox.gerrit import SandboxState

from .ci_loop_harness import ServeProcess, poll, running_serve, write_config
from .gerrit_clients import create_projects, merge_change

CROSSCHECK = [sys.executable, "-m", "crosscheck"]
RUN = uuid.uuid4().hex[:6]
NOVA, APEX = f"cand-{RUN}/nova", f"cand-{RUN}/apex"
SCENARIO = "os-cand"

CI_YAML = f"""\
- label: {{name: local}}
- job:
    name: unit
    node: local
    run:
      - test -f nova/n1.txt
- job:
    name: deploy
    node: local
    run:
      - test -f pinned-versions.yaml
      - test -f nova/n1.txt
      - test "$CROSSCHECK_VERSION_NOVA" = "$(git -C nova rev-parse HEAD)"
      - test "$CROSSCHECK_VERSION_APEX" = "$(git -C apex rev-parse HEAD)"
      - grep -q "$CROSSCHECK_CANDIDATE" pinned-versions.yaml
- pipeline:
    name: post-candidates
    manager: independent
    candidates: {{scenario: {SCENARIO}, jobs: [unit], on_move: true}}
- job:
    name: baremetal
    node: local
    run:
      - test -d nova/.git
      - test -d apex/.git
- pipeline:
    name: weekly-candidates
    manager: supercedent
    trigger: {{timer: [{{time: "* * * * *"}}]}}
    candidates: {{scenario: {SCENARIO}, level: daily, jobs: [baremetal]}}
- pipeline:
    name: daily-candidates
    manager: supercedent
    candidates: {{scenario: {SCENARIO}, level: verified, jobs: [deploy], on_move: true}}
- scenario:
    name: {SCENARIO}
    components:
      - {{name: nova, connection: sandbox, project: {NOVA}, branch: master}}
      - {{name: apex, connection: sandbox, project: {APEX}, branch: master}}
    levels:
      - {{name: verified, jobs: [unit]}}
      - {{name: daily, below: verified, jobs: [deploy]}}
      - {{name: weekly, below: daily, jobs: [baremetal]}}
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CROSSCHECK, *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def serve(sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    sandbox = SandboxState.load(sandbox_dir)
    work = tmp_path_factory.mktemp("candidates")
    asyncio.run(create_projects(sandbox, NOVA, APEX))
    config = write_config(sandbox, work / "config", ci_yaml=CI_YAML)
    with running_serve(config, work / "state") as made:
        yield made


async def level(serve: ServeProcess, name: str) -> Any:
    async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
        return (await http.get(f"/api/v1/scenarios/{SCENARIO}/levels/{name}")).json()


async def test_a_level_moving_builds_its_candidate_and_promotes_it_above(
    sandbox: SandboxState, serve: ServeProcess, tmp_path: Path
) -> None:
    nova = await merge_change(sandbox, tmp_path, NOVA, "n1")

    async def made() -> str | None:
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
            found = await http.get(f"/api/v1/scenarios/{SCENARIO}/levels/verified/explain")
        candidate: str | None = found.json()["candidate"]
        return candidate

    candidate = await poll(made, 60, "a candidate of the merge", serve)

    async def daily() -> Any:
        found = await level(serve, "daily")
        return found if found["candidate"] == candidate else None

    held = await poll(daily, 180, "daily holding the candidate crosscheck built", serve)
    assert held["versions"]["nova"] == nova
    async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
        results = (await http.get(f"/api/v1/candidates/{candidate}/results")).json()["results"]
    assert sorted((r["job"], r["ci"], r["value"]) for r in results) == [
        ("deploy", "crosscheck", "passed"),
        ("unit", "crosscheck", "passed"),
    ]
    assert all(r["url"].startswith(serve.url + "/logs/") for r in results)

    async def weekly() -> Any:
        found = await level(serve, "weekly")
        return found if found["candidate"] == candidate else None

    # The next minute's tick of the periodic pipeline, its build, its promotion.
    await poll(weekly, 150, "weekly holding the candidate (a timer's tick)", serve)
    rows = serve.query("SELECT pipeline, connection, branch, revision, state FROM items")
    assert sorted(rows) == [
        ("daily-candidates", "@promotion", "verified", candidate, "finished"),
        ("post-candidates", "@promotion", "", candidate, "finished"),
        ("weekly-candidates", "@promotion", "daily", candidate, "finished"),
    ]
