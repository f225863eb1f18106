"""The promotion pages in a real chromium: the board of scenarios x levels, a scenario's
timeline with a stuck level in red, a candidate's evidence, and inert data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.candidate import Candidate
from crosscheck.model.promotion import JobCriterion, Level, NewCandidateResult
from crosscheck.model.results import ResultValue
from crosscheck.model.scenario import Component, RefKind, Scenario
from crosscheck.promotion.pages import promotion_pages
from crosscheck.results.service import ResultsService
from crosscheck.store import promotion as store

from .server import serve_app
from .test_pages import Watch

pytestmark = pytest.mark.browser

NOW = datetime.now(UTC)
SCENARIO = Scenario(
    "os-nosdn",
    components=(
        Component("nova", RefKind.BRANCH, "master", connection="os", project="openstack/nova"),
        Component("vpp", RefKind.SHA, "b" * 40, git_url="https://git.fd.io/vpp"),
    ),
    levels=(
        Level("verified", None, (JobCriterion(("unit",)),), ("ci",)),
        Level("daily", "verified", (JobCriterion(("deploy",)),), ("ci",)),
        Level("weekly", "daily", (JobCriterion(("baremetal",)),), ("ci",)),
    ),
    description="<i>OpenStack</i> without SDN",
)
OLD = Candidate("os-nosdn", {"nova": "1" * 40, "vpp": "b" * 40})
NEW = Candidate("os-nosdn", {"nova": "2" * 40, "vpp": "b" * 40})
HOSTILE_JOB = '<img src=x onerror="alert(1)">'


async def build(engine: AsyncEngine) -> FastAPI:
    service = ResultsService(engine, max_age=None)
    await service.accounts.create("ci")
    async with engine.begin() as db:
        await store.record_candidate(db, OLD, "merge", NOW - timedelta(days=12))
        await store.record_candidate(db, NEW, "merge", NOW - timedelta(hours=3))
        for level, candidate, at in (
            ("verified", OLD, NOW - timedelta(days=11)),
            ("daily", OLD, NOW - timedelta(days=10)),  # stuck: no move for 10 days
            ("verified", NEW, NOW - timedelta(hours=2)),
        ):
            await store.promote(db, "os-nosdn", level, candidate.id, by="criteria",
                                evidence={}, at=at)  # fmt: skip
    items = [
        NewCandidateResult(NEW.id, "deploy", ResultValue.FAILED, url="https://ci.example/1"),
        NewCandidateResult(NEW.id, HOSTILE_JOB, ResultValue.PASSED,
                           url='https://ci.example/"><script>alert(2)</script>',
                           comment="<script>alert(3)</script>"),
    ]  # fmt: skip
    await service.candidates.report("ci", items, now=NOW)
    app = FastAPI()
    app.include_router(promotion_pages(engine, lambda: {"os-nosdn": SCENARIO}))
    return app


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store_path: Path = tmp_path_factory.mktemp("promotion") / "crosscheck.db"
    with serve_app(f"sqlite+aiosqlite:///{store_path}", build) as url:
        yield url


def test_the_board_shows_each_level_its_candidate_and_what_the_next_waits_for(
    page: Page, base_url: str
) -> None:
    watch = Watch(page)
    response = page.goto(f"{base_url}/promotion")
    assert response is not None
    assert response.status == 200
    cells = page.locator('#board tr[data-scenario="os-nosdn"] td.level')
    assert [c.get_attribute("data-level") for c in cells.all()] == ["verified", "daily", "weekly"]
    verified, daily, weekly = cells.all()
    assert verified.get_attribute("data-candidate") == NEW.id
    assert "stale" not in (verified.get_attribute("class") or "")
    assert daily.get_attribute("data-candidate") == OLD.id
    assert "stale" in (daily.get_attribute("class") or "")  # 10 days without a move
    # The next candidate for daily is the one verified holds; its deploy failed.
    assert "next: " + NEW.id[:12] in daily.inner_text()
    assert "failed: job deploy" in daily.inner_text()
    assert "no candidate yet" in weekly.inner_text()
    assert "waits for: job baremetal" in weekly.inner_text()
    # The scenario's description is data: shown as text, never as markup.
    assert page.locator("#board th.scenario small").inner_text() == "<i>OpenStack</i> without SDN"
    page.locator('td[data-level="verified"] a.candidate').click()
    assert page.url.endswith(f"/promotion/candidates/{NEW.id}")
    assert (watch.dialogs, watch.violations) == ([], [])


def test_the_timeline_marks_a_stuck_level_red(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/promotion/scenarios/os-nosdn")
    lanes = {g.get_attribute("data-level"): g for g in page.locator("#timeline g.lane").all()}
    assert list(lanes) == ["verified", "daily", "weekly"]
    assert "stale" not in (lanes["verified"].get_attribute("class") or "")
    assert "stale" in (lanes["daily"].get_attribute("class") or "")
    assert "stale" in (lanes["weekly"].get_attribute("class") or "")  # never moved
    assert lanes["verified"].locator("circle.move.promote").count() == 2
    box = page.locator("#timeline").bounding_box()
    assert box is not None
    for circle in page.locator("#timeline circle").all():
        dot = circle.bounding_box()
        assert dot is not None
        assert box["x"] <= dot["x"]
        assert dot["x"] + dot["width"] <= box["x"] + box["width"]
    assert page.locator("#history tbody tr").count() == 3


def test_a_candidates_evidence_is_inert(page: Page, base_url: str) -> None:
    watch = Watch(page)
    page.goto(f"{base_url}/promotion/candidates/{NEW.id}")
    rows = page.locator("#evidence tbody tr")
    assert rows.count() == 2
    hostile = page.locator("#evidence tbody tr", has_text="onerror")
    assert hostile.locator("td").first.inner_text() == HOSTILE_JOB
    assert hostile.locator(".comment").inner_text() == "<script>alert(3)</script>"
    assert page.locator("#evidence img").count() == 0
    assert page.locator("script").count() == 0
    link = page.locator('#evidence tr[data-job="deploy"] a.log')
    assert link.get_attribute("href") == "https://ci.example/1"
    components = [r.inner_text().split("\t") for r in page.locator("#components tbody tr").all()]
    assert components == [["nova", "openstack/nova", "2" * 40],
                          ["vpp", "https://git.fd.io/vpp", "b" * 40]]  # fmt: skip
    assert (watch.dialogs, watch.violations) == ([], [])
