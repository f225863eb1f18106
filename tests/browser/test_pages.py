"""The pages in a real chromium: matrix, missing CIs, health, history, and inert injection."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page

from . import scenario

pytestmark = pytest.mark.browser


class Watch:
    """Everything a page did that it should not: dialogs and policy violations."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        # A blocked script would mean the escaping failed and only the CSP saved us.
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)


def cell(page: Page, account: str, job: str, patchset: int) -> dict[str, str | None]:
    row = page.locator(f'#matrix tr[data-account="{account}"][data-job="{job}"]')
    target = row.locator(f'td.cell[data-patchset="{patchset}"]')
    link = target.locator("a.log")
    icon = target.locator("svg.icon title")
    return {
        "value": target.get_attribute("data-value"),
        "text": target.inner_text(),
        "href": link.get_attribute("href") if link.count() else None,
        "icon": icon.text_content() if icon.count() else None,
    }


def test_change_page_shows_the_matrix(page: Page, base_url: str) -> None:
    response = page.goto(f"{base_url}/changes/{scenario.MATRIX_CHANGE}")
    assert response is not None
    assert response.status == 200
    headers = [h.inner_text() for h in page.locator("#matrix thead th").all()]
    assert headers == ["CI account", "Job", "Patchset 2", "Patchset 1"]
    rows = [
        (r.get_attribute("data-account"), r.get_attribute("data-job"))
        for r in page.locator("#matrix tbody tr").all()
    ]
    assert rows == [
        ("Acme CI", "grenade"),
        ("Acme CI", "tempest-full"),
        ("Flaky CI", "unit"),
    ]
    latest = cell(page, "Acme CI", "tempest-full", 2)
    assert latest["value"] == "passed"
    assert latest["href"] == "https://acme.example/logs/1001/2"
    assert latest["icon"] == "passed"  # an SVG with its title, not a font glyph
    assert "1h 2m 3s" in str(latest["text"])
    rerun = cell(page, "Acme CI", "tempest-full", 1)
    assert rerun["value"] == "passed"  # the re-run replaced the failure
    assert "2 runs" in str(rerun["text"])
    grenade = cell(page, "Acme CI", "grenade", 2)
    assert grenade["value"] == "failed"
    assert "non-voting" in str(grenade["text"])
    assert grenade["icon"] == "failed"
    assert cell(page, "Acme CI", "grenade", 1)["value"] is None
    assert cell(page, "Flaky CI", "unit", 2)["value"] is None


def test_change_page_lists_expected_cis_that_did_not_report(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/changes/{scenario.MATRIX_CHANGE}")
    heading = page.locator("#expected h2").inner_text()
    assert "patchset 2" in heading
    # Flaky CI reported on patchset 1 only; Ghost CI never did; Acme CI reported.
    assert page.locator("#missing li").all_inner_texts() == ["Flaky CI", "Ghost CI"]


def test_unknown_change_is_a_clear_404(page: Page, base_url: str) -> None:
    response = page.goto(f"{base_url}/changes/987654")
    assert response is not None
    assert response.status == 404
    assert "no CI has reported a result on change 987654" in page.locator("#message").inner_text()


def test_health_table_highlights_silent_and_failing_cis(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/health")
    rows = {r.get_attribute("data-account"): r for r in page.locator("#health tbody tr").all()}
    assert set(rows) == {
        "Acme CI",
        "Disabled CI",
        "Evil CI",
        "Flaky CI",
        "Silent CI",
        scenario.ONE_DAY_CI,
        scenario.YEAR_CI,
    }

    def flagged(name: str) -> bool:
        return "flagged" in (rows[name].get_attribute("class") or "")

    assert flagged("Flaky CI")
    assert "low success" in rows["Flaky CI"].locator("td.flag").inner_text()
    assert flagged("Silent CI")
    assert "silent" in rows["Silent CI"].locator("td.flag").inner_text()
    assert not flagged("Acme CI")
    assert not flagged("Disabled CI")
    # Why, as the admin said when disabling it (the account page says so too).
    assert rows["Disabled CI"].locator("td.flag").inner_text() == "disabled: retired"
    # The highlight is what a person sees: a background of its own.
    plain = rows["Acme CI"].evaluate("e => getComputedStyle(e).backgroundColor")
    marked = rows["Flaky CI"].evaluate("e => getComputedStyle(e).backgroundColor")
    assert plain != marked
    flaky = rows["Flaky CI"]
    assert flaky.locator("td.results").inner_text().split() == [
        "5",
        "7",
        "d:",
        "5",
        "24",
        "h:",
        "5",
    ]
    assert flaky.locator("td.success").inner_text().startswith("20%")


def test_ci_page_pages_through_history_and_plots_success(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/cis/{quote('Acme CI')}")
    assert page.locator("#account").inner_text() == "Acme CI"
    assert page.locator("#info").get_attribute("href") == "https://acme.example/ci"
    plot = page.locator("svg#success-plot")
    assert plot.is_visible()
    # Ten past days with one nightly result each, and today's matrix results.
    assert plot.locator("circle").count() == 11
    assert plot.locator("polyline").count() >= 1
    seen: list[str] = []
    while True:
        seen += [str(r.get_attribute("data-uuid")) for r in page.locator("#history tbody tr").all()]
        older = page.locator("#older")
        if not older.count():
            break
        older.click()
        page.wait_for_load_state()
    assert len(seen) == 19  # 4 on change 1001, 10 nightly, 4 on other projects, the latest
    assert len(set(seen)) == 19


def test_json_twins_hold_the_same_data(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/changes/{scenario.MATRIX_CHANGE}")
    page.locator("a.json").click()
    page.wait_for_load_state()
    assert page.url == f"{base_url}/json/changes/{scenario.MATRIX_CHANGE}"
    data = json.loads(page.locator("body").inner_text())
    assert data["missing"] == ["Flaky CI", "Ghost CI"]
    assert [(r["account"], r["job"]) for r in data["rows"]] == [
        ("Acme CI", "grenade"),
        ("Acme CI", "tempest-full"),
        ("Flaky CI", "unit"),
    ]


def test_injected_markup_and_urls_are_inert(page: Page, base_url: str, tmp_path: Path) -> None:
    watch = Watch(page)
    page.goto(f"{base_url}/changes/{scenario.HOSTILE_CHANGE}")
    page.locator("td.cell").first.hover()
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0
    assert page.locator("main svg:not(.icon)").count() == 0  # only the icons drawn here
    jobs = page.locator("td.job").all_inner_texts()
    assert scenario.SCRIPT_JOB in jobs
    assert scenario.IMG_JOB in jobs
    assert page.locator("#project").inner_text() == scenario.HOSTILE_PROJECT
    comments = page.locator(".comment").all_inner_texts()
    assert comments == [scenario.COMMENT]
    hrefs = [a.get_attribute("href") or "" for a in page.locator("a").all()]
    assert all(h.startswith(("/", "?", "http://", "https://")) for h in hrefs), hrefs
    assert scenario.QUOTE_URL in hrefs  # linked, but as one attribute value
    unsafe = page.locator(".unsafe-url").all_inner_texts()
    assert unsafe == [scenario.JS_URL]
    assert watch.dialogs == []
    assert watch.violations == []


def test_injection_on_the_ci_and_health_pages_is_inert(page: Page, base_url: str) -> None:
    watch = Watch(page)
    for path in ("/health", f"/cis/{quote('Evil CI')}"):
        page.goto(base_url + path)
        for link in page.locator("a").all():
            link.hover()
        assert page.evaluate("() => window.pwned") is None, path
        assert page.locator("script").count() == 0, path
        assert page.locator("img").count() == 0, path
    assert page.locator("#info").count() == 0  # the javascript: info URL is not a link
    assert scenario.SCRIPT_JOB in page.locator("#history td.job").all_inner_texts()
    assert watch.dialogs == []
    assert watch.violations == []
