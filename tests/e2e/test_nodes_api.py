"""Operators see and steer real SSH nodes: a node pool over a lab of two sshd hosts, its
health loop running, the nodes API and /nodes served by uvicorn, driven over HTTP,
through the real `crosscheck nodes` command and in Debian's chromium. No Gerrit.

Needs root and network namespaces (the lab) and chromium; a machine without them
fails here with what to install, it never skips.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Dialog, Error, sync_playwright

from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.pool import NodePool
from crosscheck.http.errors import install_error_handlers
from crosscheck.model.config import Config
from crosscheck.model.job import Job
from crosscheck.model.node import Lab as LabModel
from crosscheck.model.node import SshNode
from crosscheck.nodes.api import nodes_router
from crosscheck.nodes.page import nodes_page
from crosscheck.sandbox.gerrit.site import free_port
from crosscheck.sandbox.lab import Lab, LabError, require_lab
from crosscheck.store import open_store

# Apart from the other labs' prefixes and subnets, so they may be up at the same time.
PREFIX = "cxnapi"
SUBNET = "10.231.210"
TOKEN = "nodes-e2e-admin-token"
TOKEN_ENV = "CX_NODES_TOKEN"
#: What a write command adds: the token from the environment, as an operator's script would.
AS_ADMIN = ("--token-env", TOKEN_ENV)
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = Config(jobs={"lab-smoke": Job("lab-smoke")})
#: A check a second, so a hold's expiry is seen within a couple of seconds.
CHECK_INTERVAL = 1
#: Long enough for the first checks over SSH, short enough to fail fast.
SETTLE = 30.0
CHROMIUM = os.environ.get("CROSSCHECK_CHROMIUM", "/usr/bin/chromium")
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    try:
        require_lab()
    except LabError as error:
        pytest.fail(str(error))
    # pytest's tmp_path sits in a 0700 directory the lab's login user may not enter.
    root = Path(tempfile.mkdtemp(prefix="cxlab-nodes-"))
    root.chmod(0o755)
    try:
        with Lab(root, 2, prefix=PREFIX, subnet=SUBNET) as started:
            yield started
    finally:
        shutil.rmtree(root, ignore_errors=True)


def lab_model(lab: Lab) -> LabModel:
    nodes = {
        host.name: SshNode(
            host.name,
            host.address,
            lab.user,
            key_file=lab.client_key,
            host_key=host.host_key_line,
            labels=("lab",),
            work_root=PurePosixPath(host.work_root),
            connect_timeout=5,
        )
        for host in lab.hosts
    }
    return LabModel(nodes=nodes, check_interval=CHECK_INTERVAL)


async def _serve(
    lab: Lab, directory: Path, port: int, holder: list[uvicorn.Server], started: threading.Event
) -> None:
    """The pool, its health loop and the app, all on this thread's loop: an async
    engine's connections belong to the loop that made them."""
    engine = await open_store(f"sqlite+aiosqlite:///{directory / 'nodes.db'}")
    pool = NodePool(lab_model(lab), LocalNodeProvider(directory / "work", 1, 1.0), engine)
    app = FastAPI()
    app.include_router(nodes_router(pool, lambda: TOKEN, lambda: CONFIG))
    app.include_router(nodes_page(pool))
    install_error_handlers(app)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    holder.append(server)
    checking = asyncio.create_task(pool.run())
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    started.set()
    try:
        await serving
    finally:
        checking.cancel()
        await asyncio.gather(checking, return_exceptions=True)
        await engine.dispose()


@pytest.fixture(scope="module")
def url(lab: Lab) -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="cx-nodes-serve-"))
    port = free_port()
    started = threading.Event()
    failure: list[BaseException] = []
    holder: list[uvicorn.Server] = []

    def run() -> None:
        try:
            asyncio.run(_serve(lab, directory, port, holder, started))
        except BaseException as error:  # reported to the test below
            failure.append(error)
            started.set()

    thread = threading.Thread(target=run, name="nodes-server", daemon=True)
    thread.start()
    started.wait(60)
    if failure or not holder or not holder[0].started:
        pytest.fail(f"the nodes server did not start: {failure or 'timed out'}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        holder[0].should_exit = True
        thread.join(30)
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Nodes:
    """The nodes API over HTTP, as any client calls it."""

    url: str

    def get(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/api/v1/nodes", timeout=10)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def node(self, name: str) -> dict[str, Any]:
        return next(n for n in self.get()["nodes"] if n["name"] == name)

    def post(
        self, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{self.url}/api/v1{path}", json=body, headers=headers, timeout=10)

    def wait(self, name: str, done: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + SETTLE
        while True:
            node = self.node(name)
            if done(node):
                return node
            if time.monotonic() > deadline:
                pytest.fail(f"{name} never became {what} in {SETTLE:g} s: {node}")
            time.sleep(0.2)

    def ready(self, *names: str) -> None:
        for name in names:
            self.wait(name, lambda n: n["state"] == "ready", "ready")


@pytest.fixture
def nodes(url: str) -> Iterator[Nodes]:
    """Both lab nodes ready before each test, and left free of holds and drains after."""
    api = Nodes(url)
    api.ready("lab-1", "lab-2")
    yield api
    for name in ("lab-1", "lab-2"):
        api.post(f"/nodes/{name}/release", token=TOKEN)  # 409 when not held: fine
        api.post(f"/nodes/{name}/undrain", token=TOKEN)


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as an operator types it."""
    return subprocess.run(
        [sys.executable, "-m", "crosscheck", "nodes", *args, "--url", url],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, TOKEN_ENV: TOKEN, "COLUMNS": "200"},
    )


def cli_ok(url: str, *args: str) -> str:
    done = cli(url, *args)
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def test_both_lab_nodes_are_checked_and_ready(nodes: Nodes) -> None:
    shown = {n["name"]: n for n in nodes.get()["nodes"]}
    assert list(shown) == ["local", "lab-1", "lab-2"]
    for name in ("lab-1", "lab-2"):
        assert shown[name]["state"] == "ready"
        assert shown[name]["checked_at"] is not None
        assert shown[name]["host"].endswith(":22")


def test_a_hold_needs_the_admin_token_and_shows_who_and_why(nodes: Nodes) -> None:
    body = {"reason": "swap the NIC", "by": "alice"}
    assert nodes.post("/nodes/lab-1/hold", body).status_code == 401
    assert nodes.post("/nodes/lab-1/hold", body, token="nope").status_code == 401
    assert nodes.node("lab-1")["state"] == "ready"
    answer = nodes.post("/nodes/lab-1/hold", body, token=TOKEN)
    assert answer.status_code == 200, answer.text
    shown = nodes.node("lab-1")
    assert (shown["state"], shown["held_by"], shown["hold_reason"]) == (
        "held",
        "alice",
        "swap the NIC",
    )
    # Checks go on while it is held; the hold stays.
    time.sleep(2 * CHECK_INTERVAL)
    assert nodes.node("lab-1")["state"] == "held"


def test_the_command_holds_releases_drains_and_undrains(nodes: Nodes) -> None:
    held = cli_ok(nodes.url, "hold", "lab-2", "--reason", "disk check", "--by", "bob", *AS_ADMIN)
    assert held.startswith("lab-2 held by bob until released: disk check")
    assert (nodes.node("lab-2")["state"], nodes.node("lab-2")["held_by"]) == ("held", "bob")
    listed = cli_ok(nodes.url)
    row = next(line for line in listed.splitlines() if " lab-2 " in line)
    assert all(cell in row for cell in ("held", "lab", "bob", "disk check", "released"))
    assert "lab-2 released (now ready)" in cli_ok(nodes.url, "release", "lab-2", *AS_ADMIN)
    assert nodes.node("lab-2")["state"] == "ready"
    assert "lab-2 drained: it takes no new build" in cli_ok(nodes.url, "drain", "lab-2", *AS_ADMIN)
    assert (nodes.node("lab-2")["state"], nodes.node("lab-2")["drained"]) == ("drained", True)
    assert "lab-2 undrained (now ready)" in cli_ok(nodes.url, "undrain", "lab-2", *AS_ADMIN)
    assert nodes.node("lab-2")["drained"] is False


def test_the_commands_refusals_are_one_line(nodes: Nodes) -> None:
    unknown = cli(nodes.url, "drain", "lab-9", *AS_ADMIN)
    assert unknown.returncode == 1
    assert unknown.stderr == (
        "Error: crosscheck serve refused the request (404): no node 'lab-9' (nodes: lab-1, lab-2)\n"
    )
    not_held = cli(nodes.url, "release", "lab-1", *AS_ADMIN)
    assert not_held.returncode == 1
    assert not_held.stderr.count("\n") == 1
    assert "node 'lab-1' is not held" in not_held.stderr


def test_a_hold_for_a_while_ends_by_itself(nodes: Nodes) -> None:
    held = cli_ok(nodes.url, "hold", "lab-1", "--reason", "quick look", "--for", "1s", *AS_ADMIN)
    assert "until 20" in held
    assert nodes.node("lab-1")["hold_until"] is not None
    released = nodes.wait("lab-1", lambda n: n["held_by"] is None, "released by its expiry")
    assert (released["state"], released["hold_reason"], released["hold_until"]) == (
        "ready",
        "",
        None,
    )


def test_an_autohold_request_is_listed_and_deletable(nodes: Nodes) -> None:
    body = {"job": "lab-smoke", "change": 1042, "count": 2, "for": "2h", "reason": "flaky"}
    assert nodes.post("/autoholds", body).status_code == 401
    typo = nodes.post("/autoholds", {**body, "job": "lab-smoek"}, token=TOKEN)
    assert typo.status_code == 422
    assert "did you mean 'lab-smoke'?" in typo.json()["detail"]
    made = nodes.post("/autoholds", body, token=TOKEN)
    assert made.status_code == 201, made.text
    request = made.json()
    assert nodes.get()["autoholds"] == [request]
    listed = cli_ok(nodes.url, "autohold", "list")
    assert all(cell in listed for cell in ("lab-smoke", "1042", "2h", "flaky"))
    deleted = httpx.delete(f"{nodes.url}/api/v1/autoholds/{request['id']}", headers=ADMIN)
    assert (deleted.status_code, deleted.json()) == (200, request)
    assert nodes.get()["autoholds"] == []
    assert "no autohold request" in cli_ok(nodes.url, "autohold", "list")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"chromium was not found at {CHROMIUM}: apt-get install chromium")
    # Module scope: Playwright's sync API keeps an event loop in the main thread while open.
    with sync_playwright() as driver:
        try:
            # As root chromium refuses its sandbox; the page under test is our own.
            launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Error as error:
            pytest.fail(
                f"chromium at {CHROMIUM} could not start ({error}): apt-get install chromium"
            )
        yield launched
        launched.close()


def test_the_page_shows_the_held_node_with_its_reason_escaped(
    nodes: Nodes, browser: Browser
) -> None:
    answer = nodes.post("/nodes/lab-2/hold", {"reason": HOSTILE, "by": "mallory"}, token=TOKEN)
    assert answer.status_code == 200, answer.text
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    try:
        page.goto(f"{nodes.url}/nodes")
        row = page.locator('tr[data-node="lab-2"]')
        assert "state-held" in (row.get_attribute("class") or "")
        assert row.locator("td.state").inner_text() == "held"
        assert row.locator("td.held-by").inner_text() == "mallory"
        assert row.locator("td.hold-reason").inner_text() == HOSTILE
        assert page.locator('tr[data-node="lab-1"] td.state').inner_text() == "ready"
        assert page.locator("script").count() == 0
    finally:
        context.close()
    assert dialogs == []
