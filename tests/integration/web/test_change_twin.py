"""The change page's JSON twin, read by reads.change_results and sent as plain data: the
same bytes as the ChangePage view of the change's whole history, and its entity tag
(304 while the change has no new result), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter

from crosscheck.model.expected import ExpectedCIs
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results.service import ResultsService
from crosscheck.store import open_store
from crosscheck.web import PagesSettings, pages_router
from crosscheck.web.pages import PageNotFoundError, Pages
from crosscheck.web.views import ChangePage, change_page

NOW = datetime.now(UTC).replace(microsecond=250000)
EXPECTED = ExpectedCIs((("openstack/*", ("Acme CI", "Other CI", "Zed CI")),))
GERRIT = "https://review.example"
#: Markup, quotes, non-ASCII, a JavaScript line separator and an astral character.
COMMENT = '<b>"caf\u00e9" \u2028 & \U0001f600</b>'

Client = tuple[httpx.AsyncClient, ResultsService]


def item(change: int, patchset: int, job: str, value: ResultValue, **extra: object) -> NewResult:
    return NewResult("openstack/nova", change, patchset, job, value, **extra)  # type: ignore[arg-type]


@pytest.fixture
async def client(store_url: str) -> AsyncIterator[Client]:
    engine = await open_store(store_url)
    service = ResultsService(engine, max_age=None)
    app = FastAPI()
    settings = PagesSettings(expected_cis=EXPECTED, gerrit_url=GERRIT)
    app.include_router(pages_router(service, settings))
    for name in ("Acme CI", "Other CI"):
        await service.accounts.create(name, allowed_projects=["*"])
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pages") as http:
        yield http, service
    await engine.dispose()


async def report_a_busy_change(service: ResultsService) -> None:
    minutes = [NOW - timedelta(minutes=m) for m in range(60)]
    await service.report(
        "Acme CI",
        [
            item(5, 1, "unit", ResultValue.FAILED, reported_at=minutes[50], duration=3723.4),
            item(5, 1, "unit", ResultValue.PASSED, reported_at=minutes[40], duration=0.4),
            item(5, 1, "lint", ResultValue.IN_PROGRESS, reported_at=minutes[40]),
            item(5, 2, "unit", ResultValue.UNSTABLE, reported_at=minutes[30], voting=False),
            item(
                5, 2, "docs", ResultValue.PASSED, reported_at=minutes[30].replace(microsecond=0),
                url="https://logs.example/a?b=1&c=<2>", comment=COMMENT,
            ),
            item(5, 2, "zeta", ResultValue.SKIPPED, reported_at=minutes[30], url="https://l/1"),
        ],
    )  # fmt: skip
    # Stored later with an older time (a backfill): never current, yet counted as a run.
    await service.report(
        "Acme CI", [item(5, 1, "unit", ResultValue.FAILED, reported_at=minutes[55])]
    )
    # Two reports at the same moment: the later id is current.
    same = minutes[20]
    await service.report("Other CI", [item(5, 1, "unit", ResultValue.FAILED, reported_at=same)])
    await service.report("Other CI", [item(5, 1, "unit", ResultValue.PASSED, reported_at=same)])


async def test_twin_is_the_views_serialisation_byte_for_byte(client: Client) -> None:
    http, service = client
    await report_a_busy_change(service)
    history = await service.change_results(5, current=False)
    expected = EXPECTED.for_project("openstack/nova")
    page = change_page(5, history, expected, GERRIT)
    response = await http.get("/json/changes/5")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == TypeAdapter(ChangePage).dump_json(page)
    data = response.json()
    rows = {(r["account"], r["job"]): r["cells"] for r in data["rows"]}
    assert list(rows) == sorted(rows)
    unit = rows[("Acme CI", "unit")][1]
    assert (unit["value"], unit["runs"], unit["duration"]) == ("passed", 3, "0s")
    assert rows[("Other CI", "unit")][1]["value"] == "passed"
    assert rows[("Acme CI", "docs")][0]["url"] == "https://logs.example/a?b=1&c=<2>"
    assert rows[("Acme CI", "docs")][0]["comment"] == COMMENT
    assert data["missing"] == ["Other CI", "Zed CI"]
    assert data["gerrit_url"] == f"{GERRIT}/c/5"


async def test_html_page_shows_the_same_matrix(client: Client) -> None:
    http, service = client
    await report_a_busy_change(service)
    html = (await http.get("/changes/5")).text
    assert 'data-account="Acme CI" data-job="docs"' in html
    assert "&lt;b&gt;&#34;caf\u00e9&#34;" in html  # escaped, never markup
    assert "<b>" not in html
    assert 'id="missing"' in html


async def test_a_client_holding_the_current_copy_gets_a_304(client: Client) -> None:
    http, service = client
    await report_a_busy_change(service)
    first = await http.get("/json/changes/5")
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert first.headers["cache-control"] == "no-cache"
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await http.get("/json/changes/5", headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["etag"] == etag
    stale = await http.get("/json/changes/5", headers={"If-None-Match": '"1.1.x"'})
    assert stale.status_code == 200
    assert stale.content == first.content
    assert stale.headers["etag"] == etag


async def test_a_client_taking_gzip_gets_the_same_document_compressed(client: Client) -> None:
    """As Gerrit sends its change: compressed for whoever takes it, under a tag of its
    own (a strong tag names one representation), and either tag is a current copy."""
    http, service = client
    await report_a_busy_change(service)
    plain = await http.get("/json/changes/5", headers={"Accept-Encoding": "identity"})
    packed = await http.get("/json/changes/5", headers={"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.num_bytes_downloaded < len(plain.content) / 2
    assert packed.content == plain.content  # httpx decoded it
    assert packed.headers["etag"] == plain.headers["etag"].removesuffix('"') + '-gzip"'
    for answer in (plain, packed):
        assert answer.headers["vary"] == "Accept-Encoding"
    refused = await http.get("/json/changes/5", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    # A 304 confirms the tag of the coding asked for now, not the other one's.
    for held in (plain, packed):
        for taking, chosen in (("gzip", packed), ("identity", plain)):
            headers = {"If-None-Match": held.headers["etag"], "Accept-Encoding": taking}
            again = await http.get("/json/changes/5", headers=headers)
            assert again.status_code == (304 if held is chosen else 200), (held, taking)
            assert again.headers["etag"] == chosen.headers["etag"]
    # A new result: the compressed copy moves with the plain one.
    await service.report("Acme CI", [item(5, 2, "late", ResultValue.PASSED)])
    moved = await http.get("/json/changes/5", headers={"If-None-Match": packed.headers["etag"]})
    assert moved.status_code == 200
    assert b'"late"' in moved.content
    assert moved.headers["content-encoding"] == "gzip"


async def test_a_new_result_changes_the_tag_and_the_copy(client: Client) -> None:
    http, service = client
    await report_a_busy_change(service)
    first = await http.get("/json/changes/5")
    etag = first.headers["etag"]
    # Older than everything on the change: not current anywhere, but a run more.
    await service.report(
        "Acme CI", [item(5, 2, "unit", ResultValue.FAILED, reported_at=NOW - timedelta(hours=2))]
    )
    after = await http.get("/json/changes/5", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    rows = {(r["account"], r["job"]): r["cells"] for r in after.json()["rows"]}
    assert rows[("Acme CI", "unit")][0]["runs"] == 2
    assert after.content != first.content
    # Another change's results leave this one's tag alone.
    await service.report("Acme CI", [item(6, 1, "unit", ResultValue.PASSED)])
    same = await http.get("/json/changes/5", headers={"If-None-Match": after.headers["etag"]})
    assert same.status_code == 304


async def test_a_change_without_results_is_404_whatever_the_client_holds(client: Client) -> None:
    http, _ = client
    for header in ("*", '"1.1.x"'):
        response = await http.get("/json/changes/77", headers={"If-None-Match": header})
        assert response.status_code == 404, header
        assert "no CI has reported a result on change 77" in response.text


async def test_a_job_reported_running_then_finished_ran_once(client: Client) -> None:
    """A CI that reports each job starting and then its end (as crosscheck's own reporter
    does) ran it once; a recheck that starts it again is a second run, running."""
    http, service = client
    start = NOW - timedelta(minutes=30)
    steps = [
        (ResultValue.IN_PROGRESS, 0, ("in_progress", 1)),
        (ResultValue.PASSED, 5, ("passed", 1)),
        (ResultValue.IN_PROGRESS, 10, ("in_progress", 2)),
        (ResultValue.FAILED, 15, ("failed", 2)),
    ]
    for value, minute, shown in steps:
        at = start + timedelta(minutes=minute)
        await service.report("Acme CI", [item(7, 1, "unit", value, reported_at=at)])
        response = await http.get("/json/changes/7")
        cell = response.json()["rows"][0]["cells"][0]
        assert (cell["value"], cell["runs"]) == shown, value
        history = await service.change_results(7, current=False)
        page = change_page(7, history, EXPECTED.for_project("openstack/nova"), GERRIT)
        assert response.content == TypeAdapter(ChangePage).dump_json(page)
    html = (await http.get("/changes/7")).text
    assert "2 runs" in html
    assert "4 runs" not in html


async def test_a_change_read_again_unchanged_is_served_as_kept(client: Client) -> None:
    """A dashboard polling a change: its body is made once per version of the change."""
    _, service = client
    await report_a_busy_change(service)
    pages = Pages(service, PagesSettings(expected_cis=EXPECTED, gerrit_url=GERRIT))
    first = await pages.change(5)
    again = await pages.change(5)
    assert again is first
    assert (pages.change_bodies.hits, pages.change_bodies.misses) == (1, 1)
    await service.report("Acme CI", [item(5, 2, "late", ResultValue.PASSED)])
    moved = await pages.change(5)
    assert moved.etag != first.etag
    assert b'"late"' in moved.body
    assert b'"late"' not in first.body
    with pytest.raises(PageNotFoundError):
        await pages.change(404)


async def test_the_page_is_kept_tagged_gzipped_and_moves_with_the_change(client: Client) -> None:
    """A reviewer's page, as its twin: made once per version of the change, gzipped for
    a browser, under a tag of its own with the page's security headers on the 200 and
    the 304; a new result shows at once."""
    http, service = client
    await report_a_busy_change(service)
    browser = {"Accept-Encoding": "gzip, deflate, br"}
    first = await http.get("/changes/5", headers=browser)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    assert first.headers["content-encoding"] == "gzip"
    assert first.num_bytes_downloaded < len(first.content) / 2
    plain = await http.get("/changes/5", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == first.text
    assert "&lt;b&gt;&#34;caf\u00e9&#34;" in plain.text  # escaped, never markup
    etag = first.headers["etag"]
    twin = await http.get("/json/changes/5", headers=browser)
    assert etag not in (twin.headers["etag"], plain.headers["etag"])
    held = await http.get("/changes/5", headers={**browser, "If-None-Match": etag})
    assert held.status_code == 304
    assert held.headers["etag"] == etag
    for answer in (first, plain, held):
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert answer.headers["vary"] == "Accept-Encoding"
    # The twin's tag is no copy of the page.
    other = await http.get("/changes/5", headers={**browser, "If-None-Match": twin.headers["etag"]})
    assert other.status_code == 200
    await service.report("Acme CI", [item(5, 2, "late", ResultValue.PASSED)])
    moved = await http.get("/changes/5", headers={**browser, "If-None-Match": etag})
    assert moved.status_code == 200
    assert 'data-job="late"' in moved.text
    assert 'data-job="late"' not in first.text
    for held_tag in ("*", etag):
        missing = await http.get("/changes/77", headers={"If-None-Match": held_tag})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "no CI has reported a result on change 77" in missing.text


async def test_a_page_read_again_unchanged_is_rendered_once(client: Client) -> None:
    _, service = client
    await report_a_busy_change(service)
    pages = Pages(service, PagesSettings(expected_cis=EXPECTED, gerrit_url=GERRIT))
    renders: list[bytes] = []

    def render(body: bytes) -> str:
        renders.append(body)
        return f"<p>{len(renders)}</p>"

    first = await pages.change_page(5, render)
    assert await pages.change_page(5, render) is first
    version = await pages.change_version(5)
    assert await pages.change_page(5, render, version) is first
    assert len(renders) == 1
    assert renders[0] == (await pages.change(5)).body
    await service.report("Acme CI", [item(5, 2, "late", ResultValue.PASSED)])
    moved = await pages.change_page(5, render)
    assert moved.body == b"<p>2</p>"
    assert moved.etag != first.etag


async def test_a_deploy_with_other_templates_does_not_confirm_a_browsers_old_page(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same version number, other code or templates (http/shaping.py's digest): every
    tag moves, so a browser's revalidation gets the new page, not a 304."""
    engine = await open_store(store_url)
    service = ResultsService(engine, max_age=None)
    await service.accounts.create("Acme CI", allowed_projects=["*"])
    await service.report("Acme CI", [item(5, 1, "unit", ResultValue.PASSED)])
    held: dict[str, str] = {}
    try:
        for build in ("before", "after"):
            monkeypatch.setattr("crosscheck.web.etags.code_digest", lambda build=build: build)
            app = FastAPI()
            app.include_router(pages_router(service, PagesSettings(gerrit_url=GERRIT)))
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://p") as http:
                for path in ("/changes/5", "/json/changes/5"):
                    headers = {"If-None-Match": held.get(path, '"none"')}
                    answer = await http.get(path, headers=headers)
                    assert answer.status_code == 200, (build, path)
                    assert answer.headers["etag"] != held.get(path)
                    held[path] = answer.headers["etag"]
                    again = await http.get(path, headers={"If-None-Match": held[path]})
                    assert again.status_code == 304, (build, path)
    finally:
        await engine.dispose()
