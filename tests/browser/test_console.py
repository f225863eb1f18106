"""A running build's console in a real chromium: lines written as the executor writes
them (a ConsoleLog telling the hub) appear without a reload, coloured, hostile text
stays text, #L3 targets line 3, the end event shows the result, and a reload then
shows the finished log without a script."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from crosscheck.executor.console import ConsoleLog
from tests.consoles import ConsoleSite, add_build, finish_build, serve_consoles, start_build

from .test_pages import Watch

pytestmark = pytest.mark.browser

#: Lines written once the page is open, to time how soon each shows.
TIMED_LINES = 20


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    with serve_consoles(tmp_path_factory.mktemp("consoles")) as served:
        yield served


def running_build(site: ConsoleSite) -> tuple[str, ConsoleLog]:
    build_id = site.run(add_build(site.engine))
    return build_id, site.run(start_build(site.engine, site.logs_root, build_id, site.hub))


def note_arrivals(page: Page) -> None:
    """Record in the page when each line's row arrives (the wall clock, as Python's)."""
    page.evaluate(
        """() => {
            window.arrivals = {};
            new MutationObserver((changes) => {
                const now = Date.now();
                for (const change of changes) {
                    for (const node of change.addedNodes) {
                        if (node.id) { window.arrivals[node.id] = now; }
                    }
                }
            }).observe(document.querySelector("#console tbody"), {childList: true});
        }"""
    )


def test_a_running_build_is_followed_live_then_shown_finished(
    page: Page, site: ConsoleSite
) -> None:
    build_id, console = running_build(site)
    console.line("crosscheck build " + build_id)
    console.line("\x1b[1;31mred and bold\x1b[0m then plain \x1b]0;owned-title\x07")
    console.line("<script>alert('from the build')</script><img src=x onerror=alert(2)>")
    watch = Watch(page)
    url = f"{site.url}/builds/{build_id}/console"

    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    assert page.locator("#console tr").count() == 3
    page.wait_for_function("() => window.EventSource && document.querySelector('#follow')")
    # Followed: the page holds the script, and lines written now arrive without a reload.
    note_arrivals(page)
    assert site.run(_followed(site, build_id))
    written: dict[str, float] = {}
    for number in range(4, 4 + TIMED_LINES):
        written[f"L{number}"] = time.time()
        console.line(f"\x1b[32mstep {number}\x1b[0m")  # from this thread: the hub's other path
        time.sleep(0.05)
    last = f"L{3 + TIMED_LINES}"
    page.wait_for_selector(f"#{last}", timeout=10_000)
    arrivals: dict[str, float] = page.evaluate("() => window.arrivals")
    delays = sorted(arrivals[key] / 1000 - written[key] for key in written)
    p95 = delays[int(0.95 * (len(delays) - 1))]
    median = statistics.median(delays)
    print(f"line written -> row shown: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    # Not a benchmark: a bound that only a wake, never the half-second poll, keeps.
    assert median < 0.4, delays

    # Colours render as spans of classes; no escape is left in the text.
    red = page.locator("#L2 td.l span.fg1")
    assert red.inner_text() == "red and bold"
    assert red.evaluate("e => getComputedStyle(e).fontWeight") == "700"
    assert red.evaluate("e => getComputedStyle(e).color") != page.locator("#L2 td.l").evaluate(
        "e => getComputedStyle(e).color"
    )
    assert page.locator("#L2 td.l").inner_text() == "red and bold then plain "
    assert page.locator("#L5 td.l span.fg2").inner_text() == "step 5"
    # What the build printed as HTML is shown as text, and nothing of it ran.
    assert page.locator("#L3 td.l").inner_text() == (
        "<script>alert('from the build')</script><img src=x onerror=alert(2)>"
    )
    assert page.locator("#L3 td.l script, #L3 td.l img").count() == 0
    assert page.title() == "lab console · crosscheck"  # no OSC title reached the page

    # The build ends: its last line, then its row; the end event shows the result.
    console.line("--- result: SUCCESS in 1s")
    console.close()
    site.run(finish_build(site.engine, build_id))
    page.wait_for_selector("body[data-ended='true']", timeout=10_000)
    assert page.locator("#state").inner_text() == "SUCCESS"
    assert page.locator(f"#L{4 + TIMED_LINES} td.l").inner_text() == "--- result: SUCCESS in 1s"
    assert watch.dialogs == []
    assert watch.violations == []

    # The same URL now shows the finished log, without a script.
    page.reload()
    assert page.locator("script").count() == 0
    assert page.locator("#follow").count() == 0
    assert page.locator("#console tr").count() == 4 + TIMED_LINES
    assert page.locator("#state").inner_text() == "SUCCESS"
    assert watch.dialogs == []
    assert watch.violations == []


async def _followed(site: ConsoleSite, build_id: str) -> bool:
    """Whether the page's event stream follows the build (the hub knows a follower)."""
    deadline = time.monotonic() + 10
    while not site.hub.followers(build_id):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def test_a_line_number_is_a_link_and_its_target(page: Page, site: ConsoleSite) -> None:
    build_id, console = running_build(site)
    with console:
        console.lines([f"line {n}" for n in range(1, 200)])
    site.run(finish_build(site.engine, build_id))
    page.goto(f"{site.url}/builds/{build_id}/console#L3")
    assert page.evaluate("() => document.querySelector(':target').id") == "L3"
    target = page.locator("#L3")
    assert target.evaluate("e => getComputedStyle(e).backgroundColor") != page.locator(
        "#L4"
    ).evaluate("e => getComputedStyle(e).backgroundColor")
    page.locator("#L150 td.n a").click()
    assert page.url.endswith("#L150")
    assert page.evaluate("() => document.querySelector(':target').id") == "L150"


def test_a_waiting_build_page_follows_from_its_first_line(page: Page, site: ConsoleSite) -> None:
    build_id = site.run(add_build(site.engine))
    watch = Watch(page)
    page.goto(f"{site.url}/builds/{build_id}/console")
    assert page.locator("#state").inner_text() == "waiting for a node"
    assert site.run(_followed(site, build_id))
    console = site.run(start_build(site.engine, site.logs_root, build_id, site.hub))
    console.line("a node took it")
    page.wait_for_selector("#L1", timeout=10_000)
    assert page.locator("#state").inner_text() == "running"
    assert page.locator("#no-log").count() == 0
    console.close()
    site.run(finish_build(site.engine, build_id, detail=None))
    page.wait_for_selector("body[data-ended='true']", timeout=10_000)
    assert watch.violations == []


def test_an_unknown_build_says_so(page: Page, site: ConsoleSite) -> None:
    response = page.goto(f"{site.url}/builds/no-such-build/console")
    assert response is not None
    assert response.status == 404
    assert "There is no build 'no-such-build'" in page.locator("#message").inner_text()
