"""Promotion end to end on the real sandbox Gerrit, with a real `crosscheck serve`.

Two component projects; changes merged on them make candidates; other CIs report on
candidates through the REST API and `crosscheck report --candidate`; levels move the
moment their evidence is complete (a failing job blocks, an alternative unblocks, an
approval completes the top level); an operator demotes; and a serve killed with
SIGKILL right after a result was stored promotes it exactly once after its restart.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml

from crosscheck.drivers.gerrit.rest import project_id
from crosscheck.sandbox.gerrit import SandboxState
from tests.results_server import wait_until_serving

from .ci_loop_harness import ServeProcess, poll, running_serve, write_config
from .gerrit_clients import ci_rest, create_projects, merge_change

CROSSCHECK = [sys.executable, "-m", "crosscheck"]
RUN = uuid.uuid4().hex[:6]
NOVA, APEX = f"promo-{RUN}/nova", f"promo-{RUN}/apex"
SCENARIO = "os-nosdn"
ACCOUNTS = ("external-ci", "functest", "rm")


def ci_yaml() -> str:
    return f"""\
- scenario:
    name: {SCENARIO}
    components:
      - {{name: nova, connection: sandbox, project: {NOVA}, branch: master}}
      - {{name: apex, connection: sandbox, project: {APEX}, branch: master}}
    levels:
      - {{name: verified, jobs: [unit], accounts: [external-ci],
          publish: {{tag: true, manifest: true}}}}
      - name: daily
        below: verified
        jobs: [deploy, {{any: [smoke, health]}}]
        accounts: [external-ci, functest]
      - {{name: release, below: daily, jobs: [deploy], accounts: [external-ci], approvals: rm}}
    channels:
      - {{name: developer, from: daily}}
      - {{name: stable, from: release}}
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CROSSCHECK, *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("promotion")


@pytest.fixture(scope="module")
def serve(sandbox_dir: Path, module_dir: Path) -> Iterator[ServeProcess]:
    sandbox = SandboxState.load(sandbox_dir)
    asyncio.run(create_projects(sandbox, NOVA, APEX))
    config = write_config(sandbox, module_dir / "config", ci_yaml=ci_yaml())
    with running_serve(config, module_dir / "state") as made:
        for name in ACCOUNTS:
            created = cli("results", "account", "create", name, "--store", store_of(made),
                          "--token-file", str(module_dir / f"{name}.token"))  # fmt: skip
            assert created.returncode == 0, created.stderr
        yield made


def store_of(serve: ServeProcess) -> str:
    return f"sqlite+aiosqlite:///{serve.database}"


def token(module_dir: Path, account: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {(module_dir / f'{account}.token').read_text().strip()}"}


async def explained(serve: ServeProcess, level: str, candidate: str = "") -> Any:
    query = f"?candidate={candidate}" if candidate else ""
    async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
        answer = await http.get(f"/api/v1/scenarios/{SCENARIO}/levels/{level}/explain{query}")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def newest_with(serve: ServeProcess, versions: dict[str, str]) -> str:
    """The newest candidate, once it has these versions (merges make them as events come)."""

    async def check() -> str | None:
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
            newest = (await explained(serve, "verified"))["candidate"]
            if newest is None:
                return None
            found = (await http.get(f"/api/v1/candidates/{newest}")).json()
        return (
            str(newest) if all(found["versions"].get(k) == v for k, v in versions.items()) else None
        )

    return await poll(check, 60, f"a candidate with {versions}", serve)


async def holds(serve: ServeProcess, level: str, candidate: str | None) -> None:
    async def check() -> bool | None:
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
            pointer = (await http.get(f"/api/v1/scenarios/{SCENARIO}/levels/{level}")).json()
        return True if pointer["candidate"] == candidate else None

    await poll(check, 20, f"{level} holding {candidate}", serve)


async def post(serve: ServeProcess, path: str, body: Any, headers: dict[str, str]) -> Any:
    async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
        answer = await http.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def published(
    sandbox: SandboxState, serve: ServeProcess, candidate: str, versions: dict[str, str]
) -> None:
    """verified publishes: a tag in each component at its version, and the manifest."""
    current = serve.state / "promotions" / SCENARIO / "verified.json"

    async def written() -> Any:
        return json.loads(current.read_text()) if current.exists() else None

    manifest = await poll(written, 30, "verified's manifest", serve)
    assert manifest["candidate"] == candidate
    tags = {c["name"]: c["tag"].removeprefix("refs/tags/") for c in manifest["components"]}
    for component, project in (("nova", NOVA), ("apex", APEX)):
        tag = await gerrit_tag(sandbox, project, tags[component])
        assert tag["object"] == versions[component]


def approve(serve: ServeProcess, module_dir: Path, candidate: str) -> None:
    """`promotion approve` as a functest account (refused), then as the release manager."""
    server = ("--server", serve.url)
    wrong = cli("promotion", "approve", SCENARIO, "release", candidate[:10], *server,
                "--token-file", str(module_dir / "functest.token"))  # fmt: skip
    assert wrong.returncode == 1
    assert "serve refused (403): 'functest' may not approve" in wrong.stderr
    approved = cli("promotion", "approve", SCENARIO, "release", candidate[:10], *server,
                   "--token-file", str(module_dir / "rm.token"), "--comment", "go")  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout == f"approved {SCENARIO} release for candidate {candidate} as rm\n"


def states(explanation: Any) -> dict[str, str]:
    return {c["criterion"]: c["state"] for c in explanation["criteria"]}


async def test_merges_make_candidates_that_climb_on_other_cis_results(
    sandbox: SandboxState, serve: ServeProcess, module_dir: Path
) -> None:
    async with ci_rest(sandbox) as rest:
        apex_tip = (await rest.get(f"/projects/{project_id(APEX)}/branches/master"))["revision"]
    nova_1 = await merge_change(sandbox, module_dir, NOVA, "n1")
    # The first candidate: the merged commit, and the other component's tip from Gerrit.
    first = await newest_with(serve, {"nova": nova_1, "apex": apex_tip})
    apex_1 = await merge_change(sandbox, module_dir, APEX, "a1")
    second = await newest_with(serve, {"nova": nova_1, "apex": apex_1})
    assert second != first

    # An external CI, through `crosscheck report --candidate` (the REST API under it).
    reported = cli("report", "--server", serve.url, "--token-file",
                   str(module_dir / "external-ci.token"), "--candidate", second, "--job",
                   "unit", "--result", "passed", "--url", "https://ci.example/1")  # fmt: skip
    assert reported.returncode == 0, reported.stderr
    await holds(serve, "verified", second)
    await published(sandbox, serve, second, {"nova": nova_1, "apex": apex_1})

    results = f"/api/v1/candidates/{second}/results"
    ext, functest = token(module_dir, "external-ci"), token(module_dir, "functest")
    await post(serve, results, {"results": [{"job": "deploy", "value": "passed"}]}, ext)
    await post(serve, results, {"results": [{"job": "smoke", "value": "failed"}]}, functest)
    await asyncio.sleep(1)  # room for a wrong promotion to show
    daily = await explained(serve, "daily")
    assert daily["candidate"] == second
    assert states(daily)["any of jobs smoke, health"] == "failed"
    assert daily["holds"] is None
    await post(serve, results, {"results": [{"job": "health", "value": "passed"}]}, functest)
    await holds(serve, "daily", second)

    release = await explained(serve, "release")
    assert states(release) == {"reached daily": "passed", "job deploy": "passed",
                               "1 approval(s) by rm": "missing"}  # fmt: skip
    approval = f"/api/v1/candidates/{second}/approvals"
    async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
        refused = await http.post(approval, json={"level": "release"}, headers=functest)
    assert refused.status_code == 403
    approve(serve, module_dir, second)
    await holds(serve, "release", second)

    demoted = cli("promotion", "demote", SCENARIO, "release", "--clear", "--reason",
                  "a late regression", "--by", "rm", "-c", str(serve.config),
                  "--database", store_of(serve))  # fmt: skip
    assert demoted.returncode == 0, demoted.stderr
    await holds(serve, "release", None)
    async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
        moves = (await http.get(f"/api/v1/scenarios/{SCENARIO}/promotions")).json()["promotions"]
    assert [(m["level"], m["kind"], m["by"]) for m in moves] == [
        ("release", "demote", "rm"),
        ("release", "promote", "criteria"),
        ("daily", "promote", "criteria"),
        ("verified", "promote", "criteria"),
    ]
    assert moves[0]["reason"] == "a late regression"
    assert moves[0]["previous"] == second
    status = cli("promotion", "status", "--json", "-c", str(serve.config),
                 "--database", store_of(serve))  # fmt: skip
    assert status.returncode == 0, status.stderr
    [shown] = json.loads(status.stdout)["scenarios"]
    assert [level["candidate"] for level in shown["levels"]] == [second, second, None]


async def test_a_kill_between_a_result_and_its_promotion_promotes_once_after_restart(
    sandbox: SandboxState, serve: ServeProcess, module_dir: Path
) -> None:
    nova_2 = await merge_change(sandbox, module_dir, NOVA, "n2")
    third = await newest_with(serve, {"nova": nova_2})
    body = {"results": [{"job": "unit", "value": "passed"}]}
    await post(serve, f"/api/v1/candidates/{third}/results", body, token(module_dir, "external-ci"))
    serve.kill()  # SIGKILL: the promotion may or may not have been made
    serve.start()
    await serve.ready()
    assert serve.process is not None
    await asyncio.to_thread(wait_until_serving, serve.url, serve.process, serve.log)
    await holds(serve, "verified", third)
    await asyncio.sleep(1)  # room for a second promotion to show
    rows = serve.query(
        "SELECT kind FROM promotions WHERE candidate = ? AND level = 'verified'", third
    )
    assert rows == [("promote",)]


async def gerrit_tag(sandbox: SandboxState, project: str, tag: str) -> Any:
    async with ci_rest(sandbox) as rest:
        return await rest.get(f"/projects/{project_id(project)}/tags/{quote(tag, safe='')}")


async def test_releases_tag_every_component_and_pin_the_manifest(
    sandbox: SandboxState, serve: ServeProcess, module_dir: Path
) -> None:
    async with httpx.AsyncClient(base_url=serve.url, timeout=30) as http:
        daily = (await http.get(f"/api/v1/scenarios/{SCENARIO}/levels/daily")).json()
    candidate, versions = daily["candidate"], daily["versions"]
    manifests = module_dir / "manifests"
    where = ("-c", str(serve.config), "--database", store_of(serve))

    developer = cli("release", "create", "--scenario", SCENARIO, "--channel", "developer", "--name",
                    "d1", "--manifest-dir", str(manifests), "--by", "rm", *where)  # fmt: skip
    assert developer.returncode == 0, developer.stderr
    assert f"released {SCENARIO} developer d1: candidate {candidate}" in developer.stdout
    for component, project in (("nova", NOVA), ("apex", APEX)):
        tag = await gerrit_tag(sandbox, project, f"{SCENARIO}/developer/d1")
        assert tag["object"] == versions[component]  # annotated, at the candidate's commit
        assert candidate in tag["message"]
    manifest = yaml.safe_load((manifests / "d1.yaml").read_text())
    assert json.loads((manifests / "d1.json").read_text()) == manifest
    assert {c["name"]: c["sha"] for c in manifest["components"]} == versions
    assert (manifest["channel"], manifest["qualified_at_level"]) == ("developer", "daily")

    # The release level was demoted to nothing: no stable release, and why.
    refused = cli("release", "create", "--scenario", SCENARIO, "--channel", "stable", *where)
    assert refused.returncode == 1
    assert f"{SCENARIO} release holds no candidate: nothing qualifies" in refused.stderr
    named = cli("release", "create", "--scenario", SCENARIO, "--channel", "stable",
                "--candidate", candidate[:10], *where)  # fmt: skip
    assert named.returncode == 1
    assert "was moved off release by rm" in named.stderr
    assert "a late regression" in named.stderr

    back = cli("promotion", "rollback", SCENARIO, "release", "--reason", "fixed", *where)
    assert back.returncode == 0, back.stderr
    stable = cli("release", "create", "--scenario", SCENARIO, "--channel", "stable",
                 "--name", "s1", "--manifest-dir", str(manifests), *where)  # fmt: skip
    assert stable.returncode == 0, stable.stderr
    tag = await gerrit_tag(sandbox, NOVA, f"{SCENARIO}/stable/s1")
    assert tag["object"] == versions["nova"]
    again = cli("release", "create", "--scenario", SCENARIO, "--channel", "stable",
                "--name", "s1", *where)  # fmt: skip
    assert again.returncode == 1
    assert f"{SCENARIO} has a release s1 already" in again.stderr
    listed = cli("release", "list", "--scenario", SCENARIO, "--json", *where)
    assert [(r["release"], r["channel"]) for r in json.loads(listed.stdout)] == [
        ("s1", "stable"),
        ("d1", "developer"),
    ]


async def test_a_pinned_commit_must_exist_on_gerrit(
    sandbox: SandboxState, serve: ServeProcess, module_dir: Path
) -> None:
    async with ci_rest(sandbox) as rest:
        tip = (await rest.get(f"/projects/{project_id(NOVA)}/branches/master"))["revision"]
    where = ("-c", str(serve.config), "--database", store_of(serve), "--json")
    missing = cli("candidate", "create", "--scenario", SCENARIO, "--pin", f"nova={'0' * 40}",
                  *where)  # fmt: skip
    assert missing.returncode == 1
    assert f"component nova (sandbox:{NOVA}) has no commit {'0' * 40}" in missing.stderr
    pinned = cli("candidate", "create", "--scenario", SCENARIO, "--pin", f"{NOVA}={tip}", *where)
    assert pinned.returncode == 0, pinned.stderr
    made = json.loads(pinned.stdout)
    # The branches' tips now: the same versions as the last merge's candidate, so it is
    # that candidate (recorded once, whoever asks).
    assert (made["versions"]["nova"], made["new"], made["origin"]) == (tip, False, "merge")
