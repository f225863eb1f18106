"""The health table and the plots in a real chromium: columns, links, sorting and
filtering by clicking, SVG icons, labels inside their plots, screenshots, inert data."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Locator, Page

from . import scenario
from .test_pages import Watch

pytestmark = pytest.mark.browser

#: Typographic marks every font has (an en dash for "no value"); no icon is a glyph.
ALLOWED_BEYOND_LATIN1 = {"\u2013"}

#: Every <text> of every <svg> on the page that lies (even partly) outside its svg's box.
CLIPPED_TEXT = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
          r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        out.push(`${text.textContent} [${r.left},${r.right}] outside [${box.left},${box.right}]`);
      }
    }
  }
  return out;
}"""

#: Characters of text nodes outside any <svg> (icons live in SVGs, data in cells).
TEXT_CHARACTERS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('svg')) continue;
    for (const ch of node.textContent) found.add(ch);
  }
  return [...found];
}"""


def rows(page: Page) -> dict[str | None, Locator]:
    return {r.get_attribute("data-account"): r for r in page.locator("#health tbody tr").all()}


def order(page: Page) -> list[str | None]:
    return [r.get_attribute("data-account") for r in page.locator("#health tbody tr").all()]


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_the_new_columns_and_their_links(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/health")
    headers = [h.inner_text().strip() for h in page.locator("#health thead th").all()]
    assert headers[:3] == ["Driver", "CI account", "Projects (30 d)"]
    assert {"Votes on merged", "Latest run", "Owner & contact", "30-day trend"} <= set(headers)
    acme = rows(page)["Acme CI"]
    assert acme.locator("td.driver").inner_text() == "Acme FlashArray Cinder driver"
    # Five projects: three listed, the rest behind a disclosure that works without script.
    assert acme.locator("td.projects > span.project").count() == 3
    more = acme.locator("td.projects details")
    assert more.locator("summary").inner_text() == "and 2 more"
    assert not more.locator("span.project").first.is_visible()
    more.locator("summary").click()
    assert more.locator("span.project").first.is_visible()
    # Acme passed its voting job on the merged patchset of change 1001: one vote, passed.
    assert acme.locator("td.votes").inner_text() == "1"
    assert acme.locator("td.merged-success").inner_text().split()[0] == "100%"
    flaky = rows(page)["Flaky CI"]
    assert flaky.locator("td.votes").inner_text() == "1"  # change 3000; 1001 merged at ps 2
    assert flaky.locator("td.merged-success").inner_text().split()[0] == "0%"

    latest = acme.locator("td.latest")
    assert latest.locator("a.run").get_attribute("href") == scenario.ACME_LATEST_URL
    assert latest.locator("a.gerrit").get_attribute("href") == (
        f"{scenario.GERRIT}/c/{scenario.ACME_LATEST_CHANGE}"
    )
    assert latest.locator("svg.icon title").text_content() == "passed"
    owner = acme.locator("td.owner")
    assert owner.locator(".owner-name").inner_text() == "Acme storage team"
    assert owner.locator("a.contact").get_attribute("href") == "mailto:ci@acme.example"
    flaky_contact = flaky.locator("td.owner a.contact").get_attribute("href")
    assert flaky_contact == "https://flaky.example/ci"

    trend = acme.locator("td.trend svg.sparkline")
    assert "finished results passed" in str(trend.locator("> title").text_content())
    passed = str(trend.locator("path.passed").get_attribute("d"))
    assert passed.count("M") >= 2  # a bar today and on earlier days

    latest.locator("a.change").click()
    page.wait_for_load_state()
    assert page.url == f"{base_url}/changes/{scenario.ACME_LATEST_CHANGE}"
    assert page.locator("h1").inner_text().startswith(f"Change {scenario.ACME_LATEST_CHANGE}")


def test_headers_sort_by_clicking(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/health")
    assert order(page)[:2] == ["Flaky CI", "Silent CI"]  # flagged first, then by name
    page.locator("#health th.driver a.sort").click()
    page.wait_for_load_state()
    assert query_of(page) == {"sort": ["driver"], "order": ["asc"]}
    drivers = page.locator("#health td.driver").all_inner_texts()
    named = [d for d in drivers if d]
    assert len(named) == 5
    assert drivers[:5] == sorted(named, key=str.casefold)  # rows without a driver last
    assert page.locator("#health th.driver").get_attribute("aria-sort") == "ascending"
    page.locator("#health th.driver a.sort").click()
    page.wait_for_load_state()
    assert query_of(page)["order"] == ["desc"]
    assert order(page)[0] == scenario.YEAR_CI  # LVM reference, last by name
    page.locator("#health th.results a.sort").click()
    page.wait_for_load_state()
    page.locator("#health th.results a.sort").click()
    page.wait_for_load_state()
    assert order(page)[0] == scenario.YEAR_CI  # the most results in 30 days


def test_the_filter_form_filters_by_clicking(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/health?sort=account&order=desc")
    page.locator("#filter input[name=q]").fill("acme")
    page.locator("#filter button[type=submit]").click()
    page.wait_for_load_state()
    assert order(page) == ["Acme CI"]
    assert query_of(page)["sort"] == ["account"]  # the order is kept
    # A header link keeps the filter.
    page.locator("#health th.owner a.sort").click()
    page.wait_for_load_state()
    assert query_of(page)["q"] == ["acme"]
    assert order(page) == ["Acme CI"]

    page.goto(f"{base_url}/health")
    page.locator("#filter input[name=project]").fill("openstack/p2")
    page.locator("#filter button[type=submit]").click()
    page.wait_for_load_state()
    assert order(page) == ["Acme CI"]

    page.goto(f"{base_url}/health")
    page.locator("#filter input[name=flagged]").check()
    page.locator("#filter button[type=submit]").click()
    page.wait_for_load_state()
    assert set(order(page)) == {"Flaky CI", "Silent CI"}
    assert page.locator("#shown").inner_text() == "2 of 7 CI accounts shown."
    page.locator("#clear").click()
    page.wait_for_load_state()
    assert len(order(page)) == 7

    page.goto(f"{base_url}/health?q=nobody-at-all")
    assert page.locator("#none-shown").is_visible()


def test_a_bad_parameter_is_a_400_page_naming_it(page: Page, base_url: str) -> None:
    response = page.goto(f"{base_url}/health?sort=%3Cscript%3Ex")
    assert response is not None
    assert response.status == 400
    message = page.locator("#message").inner_text()
    assert message.startswith("sort: '<script>x' is not one of the accepted values: ")
    assert "driver" in message
    assert page.locator("script").count() == 0


@pytest.mark.parametrize(
    "path", ["/health", f"/changes/{scenario.MATRIX_CHANGE}", "/cis/Acme%20CI"]
)
def test_icons_are_svg_and_no_text_is_a_glyph(page: Page, base_url: str, path: str) -> None:
    page.goto(base_url + path)
    results = page.locator(".result")
    assert results.count() > 0
    for index in range(results.count()):
        icon = results.nth(index).locator("svg.icon")
        assert icon.count() == 1, results.nth(index).inner_html()
        assert icon.get_attribute("aria-label")
        assert icon.locator("title").text_content() == icon.get_attribute("aria-label")
        assert icon.bounding_box() is not None  # drawn, with a size
    odd = [
        ch
        for ch in page.evaluate(TEXT_CHARACTERS)
        if ord(ch) > 0xFF and ch not in ALLOWED_BEYOND_LATIN1
    ]
    assert odd == [], f"{path}: {[hex(ord(c)) for c in odd]}"


def shoot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")  # for people to look at
    return path


def test_health_page_screenshot_has_no_clipped_label(
    page: Page, base_url: str, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1600, "height": 900})
    page.goto(f"{base_url}/health")
    assert shoot(page, tmp_path, "health").stat().st_size > 10_000
    assert page.evaluate(CLIPPED_TEXT) == []
    # Every sparkline's bars stay within it.
    for line in page.locator("svg.sparkline").all():
        box = line.bounding_box()
        assert box is not None
        bars = line.locator("path")
        assert bars.count() in (0, 2)  # passed and the rest, or a quiet month
        for bar in bars.all():
            inner = bar.bounding_box()
            assert inner is not None
            assert box["x"] - 0.5 <= inner["x"]
            assert inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5


@pytest.mark.parametrize(
    "case",
    [(scenario.ONE_DAY_CI, 1, 1), (scenario.ONE_DAY_CI, 30, 1), (scenario.YEAR_CI, 365, 365)],
)
def test_plots_read_well_from_one_day_to_a_year(
    page: Page, base_url: str, tmp_path: Path, case: tuple[str, int, int]
) -> None:
    account, days, bars = case
    page.goto(f"{base_url}/cis/{quote(account)}?days={days}")
    plot = page.locator("svg#success-plot")
    shoot(page, tmp_path, f"{account.replace(' ', '-')}-{days}d")
    plot.screenshot(path=str(tmp_path / "plot.png"))
    assert plot.locator("rect.bar").count() == bars
    assert page.evaluate(CLIPPED_TEXT) == []
    labels = plot.locator("text.x-label").all_text_contents()
    assert 1 <= len(labels) <= 8
    boxes = [b for b in (t.bounding_box() for t in plot.locator("text.x-label").all()) if b]
    for left, right in itertools.pairwise(boxes):
        assert left["x"] + left["width"] < right["x"], labels  # no two labels touch
    if bars == 1:
        (bar,) = plot.locator("rect.bar").all()
        box = bar.bounding_box()
        assert box is not None
        assert box["width"] >= (30 if days == 1 else 10)  # a bar one reads, not a lone dot
        assert plot.locator("text.value").all_text_contents() == ["75% (3/4)"]


def test_hostile_driver_owner_contact_and_project_are_inert(page: Page, base_url: str) -> None:
    watch = Watch(page)
    page.goto(f"{base_url}/health")
    evil = rows(page)["Evil CI"]
    assert evil.locator("td.driver").inner_text() == scenario.HOSTILE_DRIVER
    assert evil.locator("td.owner .owner-name").inner_text() == scenario.HOSTILE_OWNER
    assert evil.locator("td.owner a").count() == 0  # javascript: is shown, never linked
    assert evil.locator("td.owner .contact").inner_text() == scenario.HOSTILE_CONTACT
    assert scenario.HOSTILE_PROJECT in evil.locator("td.projects").inner_text()
    for cell in evil.locator("td").all():
        cell.hover()
    page.locator("#filter input[name=project]").fill(scenario.HOSTILE_PROJECT)
    page.locator("#filter button[type=submit]").click()
    page.wait_for_load_state()
    assert order(page) == ["Evil CI"]
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0
    assert page.locator("main b").count() == 0
    hrefs = [a.get_attribute("href") or "" for a in page.locator("a").all()]
    assert all(h.startswith(("/", "?", "http://", "https://", "mailto:")) for h in hrefs), hrefs
    assert watch.dialogs == []
    assert watch.violations == []


def test_the_json_twin_carries_the_same_rows(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/health?sort=driver&q=acme")
    page.locator("a.json").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/json/health"
    assert query_of(page) == {"sort": ["driver"], "q": ["acme"]}
    data = json.loads(page.locator("body").inner_text())
    (row,) = data["rows"]
    assert row["account"] == "Acme CI"
    assert row["contact_url"] == "mailto:ci@acme.example"
    assert row["latest"]["url"] == scenario.ACME_LATEST_URL
    assert len(row["trend"]) == 30


def test_a_cis_page_shows_its_driver_and_contact_and_its_twin_the_tables_row(
    page: Page, base_url: str
) -> None:
    page.goto(f"{base_url}/cis/{quote('Acme CI')}")
    assert page.locator("#driver").inner_text() == "Acme FlashArray Cinder driver"
    assert page.locator("#contact").get_attribute("href") == "mailto:ci@acme.example"
    page.goto(f"{base_url}/json/cis/{quote('Acme CI')}")
    twin = json.loads(page.locator("body").inner_text())
    page.goto(f"{base_url}/json/health?q=Acme")
    (table_row,) = json.loads(page.locator("body").inner_text())["rows"]
    assert twin["driver"] == table_row["driver"] == "Acme FlashArray Cinder driver"
    for key in ("driver", "owner", "contact", "projects", "merged_votes", "latest", "trend"):
        assert twin["health"][key] == table_row[key], key
