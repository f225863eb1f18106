"""The Checks tab plugin in chromium, hosted as Gerrit's UI hosts it (checks_host.py), reading
a real results service whose reads are private, installed as a Gerrit site installs it: the
one file `crosscheck checks plugin` writes, served from the site's plugins/ directory.

The sandbox loop, Rerun on a real Gerrit and the service's own plugin address are in
tests/e2e/test_checks_tab.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.checks.plugin import PLUGIN_FILE
from crosscheck.model.expected import ExpectedCIs
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.serve.results_app import create_results_app
from crosscheck.web import PagesSettings

from .checks_host import checks_host
from .server import serve_app

READ_TOKEN = "read-token-of-the-checks-tab"
PROJECT = "openstack/nova"
CHANGE = {
    "changeNumber": 4321,
    "patchsetNumber": 3,
    "patchsetSha": "b" * 40,
    "repo": PROJECT,
    "changeInfo": {},
}
#: Each written to hurt if the page or the plugin ever built HTML from it.
HOSTILE_JOB = '<img src=x onerror="window.__pwned=1">'
HOSTILE_COMMENT = "<script>window.__pwned=2</script><b>bold</b>\nsecond line"
HOSTILE_URL = 'https://ci.example.org/logs/"><svg/onload=window.__pwned=3>'


def result(job: str, value: ResultValue, **extra: Any) -> NewResult:
    fields: dict[str, Any] = {
        "project": PROJECT,
        "change": 4321,
        "patchset": 3,
        "job": job,
        "value": value,
        "url": f"https://ci.example.org/logs/{job}",
        "duration": 62.0,
    }
    return NewResult(**(fields | extra))


async def seed(service: ResultsService) -> None:
    await service.accounts.create(
        "Acme CI", info_url="https://acme.example.org/ci", allowed_projects=["*"]
    )
    await service.accounts.create("Other CI", allowed_projects=["*"])
    await service.report(
        "Acme CI",
        [
            result("unit", ResultValue.PASSED),
            result("tempest", ResultValue.FAILED, comment="3 tests failed\nsee the logs"),
            result("grenade", ResultValue.UNSTABLE),
            result("docs", ResultValue.SKIPPED, voting=False),
        ],
    )
    await service.report(
        "Other CI",
        [
            result("slow", ResultValue.IN_PROGRESS, url=None, duration=None),
            result(HOSTILE_JOB, ResultValue.FAILED, comment=HOSTILE_COMMENT, url=HOSTILE_URL),
        ],
    )


@dataclass(frozen=True)
class Site:
    #: The host page's origin: Gerrit's, the one the service allows.
    gerrit: str
    results: str
    #: The host page again on another origin (localhost is not 127.0.0.1 to a browser).
    other_origin: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("checks")
    plugin_file = directory / "plugins" / PLUGIN_FILE
    plugin_file.parent.mkdir()
    store = f"sqlite+aiosqlite:///{directory / 'results.db'}"
    with checks_host("/plugins/crosscheck-checks.js", plugin_file) as gerrit:
        pages = PagesSettings(
            expected_cis=ExpectedCIs((("openstack/*", ("Acme CI", "Missing CI")),)),
            gerrit_origins=(gerrit,),
            rerun_comments={"Acme CI": "recheck acme"},
        )

        async def build(engine: AsyncEngine) -> FastAPI:
            service = ResultsService(engine)
            await seed(service)
            settings = ResultsSettings(public_reads=False, read_token=lambda: READ_TOKEN)
            return create_results_app(service, settings, pages=pages)

        with serve_app(store, build) as results:
            write_plugin(results, plugin_file)
            port = gerrit.rsplit(":", 1)[1]
            yield Site(gerrit, results, f"http://localhost:{port}")


def write_plugin(results: str, target: Path) -> None:
    """As an operator installs it: `crosscheck checks plugin` into the site's plugins/."""
    command = [sys.executable, "-m", "crosscheck", "checks", "plugin", "--results-url", results]
    command += ["--read-token-env", "CHECKS_READ_TOKEN", "-o", str(target)]
    env = {"CHECKS_READ_TOKEN": READ_TOKEN, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "holds the read token" in done.stderr


def fetch(page: Page, origin: str) -> Any:
    page.goto(origin + "/")
    page.wait_for_function("window.__host.providers.length === 1")
    return page.evaluate("change => window.__host.fetch(change)", CHANGE)


def runs_by_name(answer: Any) -> dict[str, Any]:
    assert answer["responseCode"] == "OK", answer["errorMessage"]
    return {run["checkName"]: run for run in answer["runs"]}


def test_every_ci_and_job_is_a_run_with_its_status_category_and_links(
    page: Page, site: Site
) -> None:
    runs = runs_by_name(fetch(page, site.gerrit))
    categories = {name: [r["category"] for r in run["results"]] for name, run in runs.items()}
    assert categories["Acme CI / unit"] == ["SUCCESS"]
    assert categories["Acme CI / tempest"] == ["ERROR"]
    assert categories["Acme CI / grenade"] == ["WARNING"]
    assert categories["Acme CI / docs"] == ["INFO"]
    assert runs["Acme CI / unit"]["status"] == "COMPLETED"
    slow = runs["Other CI / slow"]
    assert (slow["status"], slow["results"]) == ("RUNNING", [])
    tempest = runs["Acme CI / tempest"]
    assert tempest["statusLink"] == "https://ci.example.org/logs/tempest"
    assert tempest["checkLink"] == "https://acme.example.org/ci"
    assert tempest["results"][0]["links"] == ["https://ci.example.org/logs/tempest"]
    assert tempest["results"][0]["summary"].startswith("3 tests failed")
    assert "non-voting" in runs["Acme CI / docs"]["results"][0]["tags"]


def test_an_expected_ci_that_never_reported_is_a_run(page: Page, site: Site) -> None:
    runs = runs_by_name(fetch(page, site.gerrit))
    missing = runs["Missing CI"]
    assert missing["status"] == "RUNNABLE"
    assert "has not reported" in missing["statusDescription"]
    assert "Other CI" not in runs  # an unexpected CI is only its jobs' runs


def test_rerun_is_offered_only_for_a_ci_with_a_rerun_comment(page: Page, site: Site) -> None:
    runs = runs_by_name(fetch(page, site.gerrit))
    assert runs["Acme CI / tempest"]["actions"] == ["Rerun"]
    assert runs["Other CI / slow"]["actions"] == []
    assert runs["Missing CI"]["actions"] == []


def test_hostile_names_comments_and_urls_stay_inert(page: Page, site: Site) -> None:
    runs = runs_by_name(fetch(page, site.gerrit))
    hostile = runs[f"Other CI / {HOSTILE_JOB}"]
    assert hostile["results"][0]["message"] == HOSTILE_COMMENT
    assert page.evaluate("window.__pwned") is None
    box = page.locator("#runs")
    assert HOSTILE_JOB in box.inner_text()
    assert "<script>window.__pwned=2</script>" in box.inner_text()
    # Nothing the data held became an element.
    assert page.locator("#runs img, #runs svg, #runs script, #runs b").count() == 0
    hrefs = page.eval_on_selector_all("#runs a", "anchors => anchors.map(a => a.href)")
    assert hrefs
    assert all(href.startswith(("https://", "http://")) for href in hrefs)


def test_another_origin_cannot_read(page: Page, site: Site) -> None:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    answer = fetch(page, site.other_origin)
    assert answer["responseCode"] == "ERROR"
    assert "gerrit-origins" in answer["errorMessage"]
    assert any("CORS" in text for text in messages), messages


def test_without_the_read_token_the_tab_says_reads_need_one(page: Page, site: Site) -> None:
    """The service's own address serves the plugin without a token: with private reads the
    tab shows the service's refusal rather than an empty list. It is loaded into the
    allowed origin's page in place of the site's file."""
    page.goto(site.gerrit + "/")
    page.wait_for_function("window.__host.providers.length === 1")
    answer = page.evaluate(
        """async ([src, change]) => {
            __host.providers.length = 0;
            await new Promise((done, fail) => {
              const script = document.createElement('script');
              script.src = src; script.onload = done; script.onerror = fail;
              document.body.appendChild(script);
            });
            return await __host.fetch(change);
        }""",
        [f"{site.results}/plugins/crosscheck-checks.js", CHANGE],
    )
    assert answer["responseCode"] == "ERROR"
    assert "needs a token" in answer["errorMessage"]
