"""Builds on a lab of real sshd hosts, each in its own network namespace: a real
`crosscheck serve`, the real sandbox Gerrit, changes pushed as a developer would.

Node failures are real too: a host's link taken down mid-build, serve killed with
SIGKILL mid-build, a host re-keyed. What counts is what Gerrit shows (one report, the
vote) and what is left running on the hosts (nothing).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import async_playwright

from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState
from crosscheck.sandbox.lab import Lab, LabHost

from .ci_loop_harness import (
    PROJECT,
    ServeProcess,
    change_detail,
    ci_messages,
    ci_vote,
    get,
    poll,
    running_serve,
    wait_reports,
)
from .lab_harness import ADMIN_TOKEN, POD, lab_config, marked_processes, running_lab

CHROMIUM = os.environ.get("CROSSCHECK_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab("cxe2e", "10.231.60") as made:
        yield made


@pytest.fixture(scope="module")
def serve(
    sandbox_dir: Path, lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    sandbox = SandboxState.load(sandbox_dir)
    directory = tmp_path_factory.mktemp("lab-nodes")
    with running_serve(lab_config(sandbox, lab, directory / "config"), directory / "state") as made:
        yield made


def host(lab: Lab, name: str) -> LabHost:
    return next(h for h in lab.hosts if h.name == name)


async def push(sandbox: SandboxState, tmp_path: Path, files: dict[str, str]) -> PushedChange:
    work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
    files = {f"lab-{uuid.uuid4().hex[:8]}.txt": "1\n", **files}
    return await work.push_change(files, "Lab change")


def builds(serve: ServeProcess, pushed: PushedChange) -> list[Any]:
    return serve.query(
        "SELECT b.job, b.attempt, b.state, b.result, b.node, b.log_url, b.id FROM builds b "
        "JOIN items i ON i.id = b.item_id WHERE i.change_number = ? ORDER BY b.job, b.attempt",
        pushed.number,
    )


async def artifact(serve: ServeProcess, log_url: str, name: str) -> str:
    answer = await get(f"{serve.url}/logs/{log_url}artifacts/{name}")
    assert answer.status_code == 200, (log_url, name, answer.status_code)
    return answer.text


async def running_probe(serve: ServeProcess, pushed: PushedChange, running: str) -> tuple[str, str]:
    """(build id, node) of probe-a's first attempt once its node runs `running` for it.
    Not merely once the build has a process: the steps before it end on their own, and
    a test that acts on an early one races the step it means."""

    async def started() -> tuple[str, str] | None:
        for job, attempt, state, _, node, _, build_id in builds(serve, pushed):
            if job == "probe-a" and attempt == 1 and state == "running" and node:
                return (build_id, node) if marked_processes(build_id, running) else None
        return None

    return await poll(started, 90, f"probe-a to run {running!r} on its node", serve)


async def one_report(sandbox: SandboxState, serve: ServeProcess, pushed: PushedChange) -> Any:
    await wait_reports(sandbox, pushed, serve, timeout=120)
    await asyncio.sleep(2)  # room for a duplicate to show
    detail = await change_detail(sandbox, pushed)
    assert len(ci_messages(detail)) == 1
    return detail


async def test_jobs_run_on_the_nodes_of_their_labels_and_a_pod_job_on_its_pod(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, lab: Lab
) -> None:
    pushed = await push(sandbox, tmp_path, {})
    detail = await one_report(sandbox, serve, pushed)
    assert ci_vote(detail) == 1
    done = {row[0]: row for row in builds(serve, pushed)}
    assert {job: row[3] for job, row in done.items()} == {
        "deploy": "SUCCESS",
        "probe-a": "SUCCESS",
        "probe-b": "SUCCESS",
    }
    assert done["probe-a"][4] in ("lab-1", "lab-3")
    assert done["probe-b"][4] == "lab-2"
    assert done["deploy"][4] == f"pod-1/{POD['jump']}"
    # Each ran on its node's own address, as the node's login, not on this host.
    for job in ("probe-a", "probe-b"):
        where = await artifact(serve, done[job][5], "where.txt")
        assert where == host(lab, done[job][4]).address
    inventory = yaml.safe_load(await artifact(serve, done["deploy"][5], "inventory.yaml"))
    compute = inventory["all"]["children"]["compute"]["hosts"]
    assert compute == {
        "lab-5": {
            "ansible_host": host(lab, "lab-5").address,
            "ansible_port": 22,
            "ansible_user": lab.user,
        }
    }
    pod_env = (await artifact(serve, done["deploy"][5], "pod.env")).splitlines()
    assert f"CROSSCHECK_POD_COMPUTE_HOSTS={host(lab, 'lab-5').address}" in pod_env
    assert "CROSSCHECK_POD=pod-1" in pod_env
    console = (await get(f"{serve.url}/logs/{done['deploy'][5]}console.log")).text
    assert f"role jump on {host(lab, 'lab-4').address}" in console
    # Nothing is left in the nodes' work roots.
    for name in ("lab-1", "lab-2", "lab-3", "lab-4"):
        assert list(host(lab, name).work_root.iterdir()) == []


async def test_bad_bytes_and_a_link_out_of_the_artifacts_are_the_builds_own_business(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess
) -> None:
    pushed = await push(sandbox, tmp_path, {"HOSTILE_A": "1\n"})
    assert ci_vote(await one_report(sandbox, serve, pushed)) == 1
    (probe,) = [row for row in builds(serve, pushed) if row[0] == "probe-a"]
    assert (probe[1], probe[3]) == (1, "SUCCESS")  # not NODE_FAILURE, not ERROR
    console = (await get(f"{serve.url}/logs/{probe[5]}console.log")).text
    assert "bad \ufffd\ufffd bytes" in console
    assert "--- artifacts: 'artifacts/root' is a link to an absolute path: left out" in console
    assert await artifact(serve, probe[5], "kept.txt") == "kept\n"
    listing = await get(f"{serve.url}/logs/{probe[5]}artifacts/", format="json")
    assert "root" not in str(listing.json())


async def test_a_node_cut_mid_build_gives_node_failure_a_retry_elsewhere_and_one_report(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, lab: Lab
) -> None:
    pushed = await push(sandbox, tmp_path, {"SLEEP_A": "300\n"})
    build_id, node = await running_probe(serve, pushed, "sleep 300")
    cut = host(lab, node)
    cut.link_down()
    try:
        detail = await one_report(sandbox, serve, pushed)
    finally:
        cut.link_up()
    assert ci_vote(detail) == 1
    attempts = [row for row in builds(serve, pushed) if row[0] == "probe-a"]
    assert [(a[1], a[3]) for a in attempts] == [(1, "NODE_FAILURE"), (2, "SUCCESS")]
    other = {"lab-1": "lab-3", "lab-3": "lab-1"}[node]
    assert attempts[1][4] == other
    assert "out of rotation" in serve.log_tail(400)

    # Back on the network, the node is cleaned of the lost build before it takes another.
    async def cleaned() -> bool | None:
        gone = not marked_processes(build_id) and not (cut.work_root / build_id).exists()
        return True if gone else None

    await poll(cleaned, 60, f"the lost build's sleep and directory on {node} to go", serve)
    assert f"node {node} is back in rotation" in serve.log_tail(400)


async def test_kill_9_mid_build_stops_the_leftovers_on_the_node_and_reports_once(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, lab: Lab
) -> None:
    pushed = await push(sandbox, tmp_path, {"SLEEP_A": "300\n"})
    build_id, node = await running_probe(serve, pushed, "sleep 300")
    serve.kill()
    await asyncio.sleep(1)
    assert marked_processes(build_id, "sleep 300"), "the build's sleep should outlive serve"
    serve.start()
    await serve.ready()
    detail = await one_report(sandbox, serve, pushed)
    assert ci_vote(detail) == 1
    attempts = [(row[1], row[3]) for row in builds(serve, pushed) if row[0] == "probe-a"]
    assert attempts == [(1, "INTERRUPTED"), (2, "SUCCESS")]
    assert marked_processes(build_id) == []
    assert not (host(lab, node).work_root / build_id).exists()
    assert f"left by build(s) {build_id}" in serve.log_tail(400)
    reports = serve.query(
        "SELECT state FROM reports WHERE change_number = ? AND connection = 'sandbox'",
        pushed.number,
    )
    assert reports == [("sent",)]


def crosscheck(serve: ServeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI against serve, with the admin token in its environment."""
    env = {
        **os.environ,
        "CROSSCHECK_ADMIN_TOKEN": ADMIN_TOKEN,
        "CROSSCHECK_URL": serve.url,
        "CROSSCHECK_STATE_DIR": str(serve.state / "by-hand"),
    }
    return subprocess.run(
        [sys.executable, "-m", "crosscheck", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


async def node_view(serve: ServeProcess, name: str) -> dict[str, Any]:
    answer = await get(f"{serve.url}/api/v1/nodes")
    assert answer.status_code == 200, answer.text
    (found,) = [n for n in answer.json()["nodes"] if n["name"] == name]
    return dict(found)


async def runs_by_hand_only_on_the_held_node(serve: ServeProcess, pushed: PushedChange) -> None:
    """`crosscheck run` on a lab label: only on a node named and held (lab-3 is)."""
    database = f"sqlite+aiosqlite:///{serve.database}"
    by_hand = ("run", "probe-a", "--change", str(pushed.number), "--config", str(serve.config))
    unnamed = crosscheck(serve, *by_hand, "--database", database)
    assert unnamed.returncode == 2
    assert "hold one for the build" in unnamed.stderr
    free = crosscheck(serve, *by_hand, "--database", database, "--node", "lab-1")
    assert free.returncode == 2
    assert "lab-1 not held: serve may give it a build meanwhile" in free.stderr
    held = crosscheck(serve, *by_hand, "--database", database, "--node", "lab-3")
    assert held.returncode == 0, held.stderr
    assert "node:     lab-3" in held.stdout
    assert "SUCCESS" in held.stderr


async def test_a_held_node_takes_no_build_and_an_autohold_keeps_a_failed_builds_node(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, lab: Lab
) -> None:
    held = crosscheck(serve, "nodes", "hold", "lab-3", "--reason", "firmware <update>")
    assert held.returncode == 0, held.stderr
    try:
        for _ in range(2):
            pushed = await push(sandbox, tmp_path, {})
            assert ci_vote(await one_report(sandbox, serve, pushed)) == 1
            (probe,) = [row for row in builds(serve, pushed) if row[0] == "probe-a"]
            assert probe[4] == "lab-1"  # never the held lab-3
        await runs_by_hand_only_on_the_held_node(serve, pushed)
        added = crosscheck(
            serve, "nodes", "autohold", "add", "--job", "probe-a", "--reason", "why red?"
        )
        assert added.returncode == 0, added.stderr
        failing = await push(sandbox, tmp_path, {"FAIL_A": "1\n"})
        assert ci_vote(await one_report(sandbox, serve, failing)) == -1
        (probe,) = [row for row in builds(serve, failing) if row[0] == "probe-a"]
        assert (probe[3], probe[4]) == ("FAILURE", "lab-1")
        view = await node_view(serve, "lab-1")
        assert view["state"] == "held"
        assert view["held_by"].startswith("autohold ")
        kept = Path(view["kept_dir"])
        assert kept == host(lab, "lab-1").work_root / probe[6]
        assert (kept / "src" / PROJECT / "FAIL_A").exists()  # the workspace, to debug in
        console = (await get(f"{serve.url}/logs/{probe[5]}console.log")).text
        assert "--- held for debugging by autohold" in console
        listed = crosscheck(serve, "nodes", "list")
        assert "firmware <update>" in listed.stdout
        assert "why red?" in listed.stdout
        released = crosscheck(serve, "nodes", "release", "lab-1")
        assert released.returncode == 0, released.stderr
        assert not kept.exists()
        assert (await node_view(serve, "lab-1"))["state"] == "ready"
    finally:
        crosscheck(serve, "nodes", "release", "lab-3")
    assert (await node_view(serve, "lab-3"))["state"] == "ready"


#: 9 s of ticks: room for chromium to start on a loaded machine before the last.
TICKS = 30


async def test_a_lab_build_is_followed_live_in_chromium_and_with_console_follow(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess
) -> None:
    pushed = await push(sandbox, tmp_path, {"TICK_A": f"{TICKS}\n"})
    build_id, node = await running_probe(serve, pushed, "sleep 0.3")
    assert node in ("lab-1", "lab-3")
    status = await get(f"{serve.url}/api/v1/status")
    (running,) = [b for b in status.json()["running_builds"] if b["id"] == build_id]
    console_url = running["console_url"]
    follow = asyncio.create_task(
        asyncio.to_thread(crosscheck, serve, "console", build_id, "--follow")
    )
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(console_url)
        ticks = page.locator("tr", has_text="tick")
        # Locators, not wait_for_function: the page's policy forbids eval, as it should.
        await page.locator("tr", has_text="tick 2").wait_for()
        seen_while_running = await ticks.count()
        await page.locator("tr", has_text=f"tick {TICKS}").wait_for(timeout=60000)
        assert seen_while_running < TICKS  # lines arrived while the build ran, not at the end
        # The colour is rendered, never the escape sequence.
        assert await page.locator("tr", has_text=f"tick {TICKS}").locator("span").count() >= 1
        assert "\x1b" not in await page.inner_text("body")
        await browser.close()
    followed = await follow
    assert followed.returncode == 0, followed.stderr
    texts = [line.split(" | ", 1)[1] for line in followed.stdout.splitlines()]
    assert [text for text in texts if text.startswith("tick ")] == [
        f"tick {n}" for n in range(1, TICKS + 1)
    ]
    assert followed.stderr.splitlines()[-1] == f"build {build_id} (probe-a): SUCCESS"


# Last: it re-keys lab-2 (and pins the new key again).
async def test_a_changed_host_key_takes_the_node_out_until_the_configuration_pins_the_new_one(
    sandbox: SandboxState, tmp_path: Path, serve: ServeProcess, lab: Lab
) -> None:
    old_key = host(lab, "lab-2").host_key_line
    new_key = host(lab, "lab-2").rotate_host_key()

    # Both fingerprints, to compare out of band. A check that met sshd between its
    # restarts cannot read the offered key; the next check's line names it.
    async def refused() -> str | None:
        lines = [
            line
            for line in serve.log.read_text().splitlines()
            if "node lab-2 is out of rotation: host key changed" in line
            and line.count("SHA256:") == 2
        ]
        return lines[-1] if lines else None

    await poll(refused, 30, "lab-2 to be taken out for its host key", serve)
    node = await node_view(serve, "lab-2")
    assert node["state"] == "unhealthy"
    assert "host key changed" in node["reason"]
    # Builds needing lab-2's label wait; none runs on the host that changed.
    waiting = await push(sandbox, tmp_path, {})

    async def queued() -> bool | None:
        rows = [r for r in builds(serve, waiting) if r[0] == "probe-b"]
        return True if rows and rows[0][2] == "waiting" else None

    await poll(queued, 60, "probe-b to wait for a node", serve)
    await asyncio.sleep(3)
    assert [r[2] for r in builds(serve, waiting) if r[0] == "probe-b"] == ["waiting"]
    # The operator checked the new key and pins it: the reload brings the node back.
    ci_yaml = serve.config / "ci.yaml"
    ci_yaml.write_text(ci_yaml.read_text().replace(old_key, new_key))
    detail = await one_report(sandbox, serve, waiting)
    assert ci_vote(detail) == 1
    (probe,) = [r for r in builds(serve, waiting) if r[0] == "probe-b"]
    assert (probe[3], probe[4]) == ("SUCCESS", "lab-2")
    assert (await node_view(serve, "lab-2"))["state"] == "ready"
