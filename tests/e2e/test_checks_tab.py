"""Gerrit's Checks tab on the whole loop: the sandbox Gerrit, a real `crosscheck serve`, the
plugin as that serve hands it out at /plugins/crosscheck-checks.js, in chromium.

The sandbox is headless (Gerrit's UI bundle is not on any registry here), so the page that
hosts the plugin is tests/browser/checks_host.py: it calls the plugin through the plugin
API's entry points as Gerrit's UI does, and its REST calls go to the real sandbox as the
signed-in user. What Gerrit's "only comments" filter keys on, the messages' tag, is read
over REST.

Playwright's sync API owns the main thread's event loop while it runs, so the async
Gerrit helpers run on a thread of their own (`sync`).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Page

from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState
from tests.browser.checks_host import GerritUser, checks_host
from tests.browser.conftest import browser, page, playwright

from .ci_loop_harness import (
    CONFIG,
    KILL_GRACE,
    PROJECT,
    ServeProcess,
    change_detail,
    wait_reports,
    wait_results,
    write_config,
)

__all__ = ["browser", "page", "playwright"]  # the browser fixtures, used by name

T = TypeVar("T")
OWN = "crosscheck"  # serve's results account: its `ci` name


def sync(work: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


@dataclass(frozen=True)
class Loop:
    sandbox: SandboxState
    serve: ServeProcess
    #: The host page's origin, the Gerrit origin serve allows.
    gerrit: str
    pushed: PushedChange


PAGES = """\
gerrit-origins: [{origin}]
expected-cis:
  {project}: [{own}, Missing CI]
"""


@pytest.fixture(scope="module")
def loop(sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    sandbox = SandboxState.load(sandbox_dir)
    directory = tmp_path_factory.mktemp("checks-tab")
    config = directory / "config"
    ci_yaml = CONFIG + f"- executor:\n    slots: 2\n    kill_grace: {KILL_GRACE}\n"
    write_config(sandbox, config, ci_yaml=ci_yaml + "- results:\n    pages: ../pages.yaml\n")
    serve = ServeProcess(config, directory / "state")  # its port is chosen here
    user = GerritUser(sandbox.http_url, sandbox.admin.username, sandbox.admin.http_password)
    with checks_host(f"{serve.url}/plugins/crosscheck-checks.js", gerrit=user) as gerrit:
        (directory / "pages.yaml").write_text(PAGES.format(origin=gerrit, project=PROJECT, own=OWN))
        serve.start()
        try:
            sync(serve.ready())
            pushed = sync(push(sandbox, directory))
            sync(wait_results(serve, pushed, 2, timeout=120))
            yield Loop(sandbox, serve, gerrit, pushed)
        finally:
            serve.stop()


async def push(sandbox: SandboxState, directory: Path) -> PushedChange:
    work = await SandboxRepo(sandbox, PROJECT, directory / "repo").open()
    return await work.push_change({"checks-tab.txt": "ok\n"}, "A change for the Checks tab")


def change_data(pushed: PushedChange) -> dict[str, Any]:
    return {
        "changeNumber": pushed.number,
        "patchsetNumber": pushed.patchset,
        "patchsetSha": pushed.revision,
        "repo": pushed.project,
        "changeInfo": {},
    }


def fetch(page: Page, origin: str, pushed: PushedChange) -> Any:
    page.goto(origin + "/")
    page.wait_for_function("window.__host.providers.length === 1")
    return page.evaluate("change => window.__host.fetch(change)", change_data(pushed))


def runs_by_name(answer: Any) -> dict[str, Any]:
    assert answer["responseCode"] == "OK", answer["errorMessage"]
    return {run["checkName"]: run for run in answer["runs"]}


def other_ci_token(serve: ServeProcess) -> str:
    """Another CI of the community, its account made by the admin's CLI on serve's store."""
    command = [sys.executable, "-m", "crosscheck", "results", "account", "create", "Vendor CI"]
    command += ["--info-url", "https://vendor.example.org/ci", "--project", "*"]
    command += ["--store", f"sqlite+aiosqlite:///{serve.database}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_tab_shows_crosschecks_runs_another_cis_and_the_missing_one(
    page: Page, loop: Loop
) -> None:
    token = other_ci_token(loop.serve)
    posted = httpx.post(
        f"{loop.serve.url}/api/v1/results",
        json={
            "project": PROJECT,
            "change": loop.pushed.number,
            "patchset": loop.pushed.patchset,
            "job": '<img src=x onerror="window.__pwned=1">',
            "value": "failed",
            "url": 'https://vendor.example.org/logs/"><svg/onload=window.__pwned=2>',
            "comment": "<script>window.__pwned=3</script>driver fault",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    runs = runs_by_name(fetch(page, loop.gerrit, loop.pushed))

    hello = runs[f"{OWN} / hello"]
    assert hello["status"] == "COMPLETED"
    assert [r["category"] for r in hello["results"]] == ["SUCCESS"]
    assert hello["statusLink"]
    assert hello["statusLink"].startswith(loop.serve.url + "/logs/")
    assert hello["actions"] == ["Rerun"]
    assert f"{OWN} / advisory" in runs

    vendor = runs['Vendor CI / <img src=x onerror="window.__pwned=1">']
    assert [r["category"] for r in vendor["results"]] == ["ERROR"]
    assert vendor["checkLink"] == "https://vendor.example.org/ci"
    assert vendor["actions"] == []  # no rerun comment is configured for it
    missing = runs["Missing CI"]
    assert missing["status"] == "RUNNABLE"

    assert page.evaluate("window.__pwned") is None
    assert page.locator("#runs img, #runs svg, #runs script").count() == 0
    assert "window.__pwned=3" in page.locator("#runs").inner_text()


def test_rerun_posts_the_comment_as_the_user_and_builds_again(page: Page, loop: Loop) -> None:
    before = sync(wait_results(loop.serve, loop.pushed, 2))
    first = max(r["reported_at"] for r in before if r["ci"] == OWN and r["job"] == "hello")
    runs = runs_by_name(fetch(page, loop.gerrit, loop.pushed))
    assert runs[f"{OWN} / hello"]["actions"] == ["Rerun"]
    outcome = page.evaluate("name => window.__host.act(name, 'Rerun')", f"{OWN} / hello")
    assert not outcome.get("errorMessage"), outcome
    assert outcome["shouldReload"] is True

    detail = sync(change_detail(loop.sandbox, loop.pushed))
    asked = [m for m in detail["messages"] if m.get("message", "").endswith("run crosscheck")]
    assert asked, [m.get("message") for m in detail["messages"]]
    assert asked[-1]["author"]["username"] == loop.sandbox.admin.username  # as the user
    assert not asked[-1].get("tag", "").startswith("autogenerated:")

    sync(wait_reports(loop.sandbox, loop.pushed, loop.serve, count=2, timeout=120))

    async def newer() -> list[Any]:
        found = await wait_results(loop.serve, loop.pushed, 2)
        return [r for r in found if r["job"] == "hello" and r["reported_at"] > first]

    assert sync(newer())
    again = runs_by_name(fetch(page, loop.gerrit, loop.pushed))
    assert [r["category"] for r in again[f"{OWN} / hello"]["results"]] == ["SUCCESS"]


def test_a_build_shows_running_with_its_console_then_its_result(
    page: Page, loop: Loop, tmp_path: Path
) -> None:
    """serve reports its jobs running when it plans them; the report replaces them."""

    async def slow_change() -> PushedChange:
        work = await SandboxRepo(loop.sandbox, PROJECT, tmp_path / "repo").open()
        return await work.push_change({"slow.txt": "1\n", "SLEEP": "8\n"}, "A slow change")

    pushed = sync(slow_change())
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not seen:
        runs = runs_by_name(fetch(page, loop.gerrit, pushed))
        hello = runs.get(f"{OWN} / hello")
        if hello is not None and hello["status"] == "RUNNING":
            seen = hello
        time.sleep(0.5)
    assert seen, loop.serve.log_tail()
    assert seen["results"] == []
    assert seen["statusLink"].startswith(f"{loop.serve.url}/builds/")
    assert seen["statusLink"].endswith("/console")
    assert httpx.get(seen["statusLink"], timeout=10).status_code == 200  # the live console

    sync(wait_results(loop.serve, pushed, 2, timeout=120))
    done = runs_by_name(fetch(page, loop.gerrit, pushed))[f"{OWN} / hello"]
    assert done["status"] == "COMPLETED"
    assert [r["category"] for r in done["results"]] == ["SUCCESS"]
    assert done["statusLink"].startswith(f"{loop.serve.url}/logs/")


def test_crosschecks_messages_are_short_and_tagged_for_the_comment_filter(loop: Loop) -> None:
    """Gerrit's "only comments" filter hides messages tagged `autogenerated:`."""
    detail = sync(change_detail(loop.sandbox, loop.pushed))
    own = [
        m
        for m in detail["messages"]
        if m.get("author", {}).get("username") == loop.sandbox.ci.username
    ]
    assert own
    for message in own:
        assert message.get("tag") == "autogenerated:crosscheck:check", message
        assert len(message["message"].splitlines()) <= 12, message["message"]


def test_the_service_refuses_another_origin(page: Page, loop: Loop) -> None:
    port = loop.gerrit.rsplit(":", 1)[1]
    answer = fetch(page, f"http://localhost:{port}", loop.pushed)
    assert answer["responseCode"] == "ERROR"
    assert "gerrit-origins" in answer["errorMessage"]


def test_the_sandbox_site_loads_the_plugin_file(loop: Loop) -> None:
    """The file a site's plugins/ holds is one Gerrit 3.10 itself loads and lists."""
    answer = httpx.get(
        f"{loop.sandbox.http_url}a/plugins/",
        params={"all": "true"},
        auth=(loop.sandbox.admin.username, loop.sandbox.admin.http_password),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert "crosscheck-checks" in answer.text
