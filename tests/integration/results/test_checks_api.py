"""What Gerrit's Checks tab reads, the read token, CORS and the plugin file, on SQLite and
PostgreSQL, through the app as `crosscheck results serve` composes it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crosscheck.checks.plugin import PLACEHOLDER
from crosscheck.config.secrets import SecretError
from crosscheck.model.expected import ExpectedCIs
from crosscheck.results.checks_answers import Asked, KeptChecks
from crosscheck.results.settings import ResultsSettings, check_tokens
from crosscheck.web import PagesSettings
from tests.integration.results.api_harness import ADMIN_TOKEN, Harness, bearer, harness

GERRIT = "https://review.example.org"
PAGES = PagesSettings(
    expected_cis=ExpectedCIs((("openstack/*", ("Zuul", "Acme CI", "Gone CI")),)),
    gerrit_url=GERRIT,
    gerrit_origins=(GERRIT,),
    rerun_comments={"Acme CI": "recheck acme"},
)
READ_TOKEN = "read-only-token-for-tests"
CHECKS = "/api/v1/changes/1234/patchsets/2/checks"


def result(job: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "project": "openstack/nova",
        "change": 1234,
        "patchset": 2,
        "job": job,
        "value": value,
        "url": f"https://ci.example.org/logs/{job}",
    } | extra


async def report(api: Harness, token: str, *results: dict[str, Any]) -> None:
    posted = await api.http.post(
        "/api/v1/results/batch", json={"results": list(results)}, headers=bearer(token)
    )
    assert posted.status_code == 201, posted.text


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url, pages=PAGES) as made:
        yield made


async def test_every_ci_with_its_runs_and_the_expected_ones_missing(api: Harness) -> None:
    await api.service.accounts.create(
        "Acme CI", info_url="https://acme.example.org/ci", allowed_projects=["openstack/*"]
    )
    acme = await api.service.accounts.rotate_token("Acme CI")
    other = await api.account("Other CI")
    await report(api, acme, result("tempest", "failed"), result("unit", "passed"))
    await report(api, other, result("lint", "in_progress"))
    await report(api, other, result("lint", "passed", change=99))  # another change

    answer = await api.http.get(CHECKS, params={"project": "openstack/nova"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["page_url"] == "http://results/changes/1234"
    cis = {ci["name"]: ci for ci in body["cis"]}
    # Expected ones first, in the order written; then the others.
    assert [ci["name"] for ci in body["cis"]] == ["Zuul", "Acme CI", "Gone CI", "Other CI"]
    assert cis["Zuul"] == {
        "name": "Zuul",
        "info_url": None,
        "expected": True,
        "rerun_comment": None,
        "results": [],
    }
    assert cis["Acme CI"]["info_url"] == "https://acme.example.org/ci"
    assert cis["Acme CI"]["rerun_comment"] == "recheck acme"
    assert [(r["job"], r["value"]) for r in cis["Acme CI"]["results"]] == [
        ("tempest", "failed"),
        ("unit", "passed"),
    ]
    assert [(r["job"], r["value"]) for r in cis["Other CI"]["results"]] == [("lint", "in_progress")]
    assert cis["Other CI"]["expected"] is False


async def test_a_newer_result_of_a_job_replaces_the_older(api: Harness) -> None:
    token = await api.account("Acme CI")
    await report(api, token, result("tempest", "in_progress"))
    await report(api, token, result("tempest", "passed"))
    body = (await api.http.get(CHECKS, params={"project": "openstack/nova"})).json()
    (acme,) = [ci for ci in body["cis"] if ci["name"] == "Acme CI"]
    assert [r["value"] for r in acme["results"]] == ["passed"]


async def test_the_project_filters_results_and_picks_the_expected_cis(api: Harness) -> None:
    token = await api.account("Acme CI", projects=["*"])
    await report(api, token, result("tempest", "passed", project="other/thing"))
    body = (await api.http.get(CHECKS, params={"project": "openstack/nova"})).json()
    assert all(ci["results"] == [] for ci in body["cis"])
    elsewhere = (await api.http.get(CHECKS, params={"project": "other/thing"})).json()
    assert [ci["name"] for ci in elsewhere["cis"]] == ["Acme CI"]
    assert elsewhere["cis"][0]["expected"] is False
    guessed = (await api.http.get(CHECKS)).json()  # no project: the results' own
    assert guessed["project"] == "other/thing"


async def test_a_poll_gets_the_kept_answer_until_the_change_or_a_ci_page_moves(
    api: Harness,
) -> None:
    """The plugin polls the patchset on screen: the same answer (a 304 for the copy
    held, plain or gzipped) until a result arrives or an account's info URL changes."""
    token = await api.account("Acme CI")
    await report(api, token, result("tempest", "in_progress"))
    params = {"project": "openstack/nova"}
    first = await api.http.get(CHECKS, params=params, headers={"Accept-Encoding": "identity"})
    packed = await api.http.get(CHECKS, params=params, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == first.content
    for copy, taking in ((first, "identity"), (packed, "gzip")):
        headers = {"If-None-Match": copy.headers["etag"], "Accept-Encoding": taking}
        again = await api.http.get(CHECKS, params=params, headers=headers)
        assert again.status_code == 304, taking
    # Another project's answer on the same patchset is its own.
    other = await api.http.get(CHECKS, params={"project": "other/thing"})
    assert other.headers["etag"] != first.headers["etag"]
    assert all(ci["results"] == [] for ci in other.json()["cis"])

    await report(api, token, result("tempest", "passed"))
    held = packed.headers["etag"]
    moved = await api.http.get(CHECKS, params=params, headers={"If-None-Match": held})
    assert moved.status_code == 200
    (acme,) = [ci for ci in moved.json()["cis"] if ci["name"] == "Acme CI"]
    assert [r["value"] for r in acme["results"]] == ["passed"]

    changed = await api.http.patch(
        "/api/v1/accounts/Acme CI",
        json={"info_url": "https://acme.example.org/new"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert changed.status_code == 200, changed.text
    held = moved.headers["etag"]
    renamed = await api.http.get(CHECKS, params=params, headers={"If-None-Match": held})
    assert renamed.status_code == 200
    (acme,) = [ci for ci in renamed.json()["cis"] if ci["name"] == "Acme CI"]
    assert acme["info_url"] == "https://acme.example.org/new"


async def test_a_restart_with_other_settings_does_not_confirm_an_old_copy(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tag holds the settings that shape the answer (expected CIs, rerun comments,
    the page link) and crosscheck's code (http/shaping.py): the same ones give the same
    tag after a restart, other ones another tag, so a browser's revalidation gets the
    new answer."""
    others = replace(PAGES, expected_cis=ExpectedCIs((("openstack/*", ("Zeta CI",)),)))
    tags: list[str] = []
    for pages in (PAGES, PAGES, others):
        async with harness(store_url, pages=pages) as api:
            if not tags:
                await report(api, await api.account("Acme CI"), result("unit", "passed"))
            params = {"project": "openstack/nova"}
            if len(tags) == 2:  # the browser revalidates the copy it held before
                held = {"If-None-Match": tags[0]}
                again = await api.http.get(CHECKS, params=params, headers=held)
                assert again.status_code == 200
                assert next(ci["name"] for ci in again.json()["cis"]) == "Zeta CI"
            answer = await api.http.get(CHECKS, params=params)
            tags.append(answer.headers["etag"])
    assert tags[0] == tags[1]
    assert tags[2] != tags[0]
    # The same settings on other code or templates (a deploy of the same version).
    monkeypatch.setattr("crosscheck.results.checks_api.code_digest", lambda: "other build")
    async with harness(store_url, pages=PAGES) as api:
        held = {"If-None-Match": tags[0]}
        again = await api.http.get(CHECKS, params={"project": "openstack/nova"}, headers=held)
        assert again.status_code == 200
        assert again.headers["etag"] != tags[0]


async def test_a_flood_of_distinct_checks_reads_keeps_within_its_bound(api: Harness) -> None:
    """Every patchset number and Host an anonymous client may name is an answer of its
    own: each is counted a kilobyte beyond its bytes, so the store stays bounded."""
    token = await api.account("Acme CI")
    await report(api, token, result("tempest", "passed"))
    kept = KeptChecks(api.service)
    kept.bodies.max_bytes = 50 * 1024

    async def make() -> bytes:
        return b'{"cis": []}'

    for patchset in range(1, 200):
        asked = Asked(1234, patchset, None, f"http://h{patchset}.example/")
        assert (await kept.answer(asked, make, None, gzipped=True)).status_code == 200
    assert kept.bodies.held <= kept.bodies.max_bytes
    assert 20 <= len(kept.bodies) < 50
    held = len(kept.bodies)
    nothing = Asked(4321, 1, None, "http://results/")  # no result on it: not kept
    assert (await kept.answer(nothing, make, None, gzipped=False)).status_code == 200
    assert len(kept.bodies) == held


async def test_a_bad_change_number_is_located(api: Harness) -> None:
    answer = await api.http.get("/api/v1/changes/0/patchsets/2/checks")
    assert answer.status_code == 422
    assert "change" in answer.text


# -- private reads and the read token ---------------------------------------------------


@pytest.fixture
async def private(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url, public_reads=False, pages=PAGES, read_token=READ_TOKEN) as made:
        yield made


async def test_private_reads_need_a_token_and_the_read_token_reads(private: Harness) -> None:
    assert (await private.http.get(CHECKS)).status_code == 401
    assert (await private.http.get(CHECKS, headers=bearer("wrong"))).status_code == 401
    answer = await private.http.get(CHECKS, headers=bearer(READ_TOKEN))
    assert answer.status_code == 200, answer.text
    # No pages are mounted when reads are private: the tab links to none.
    assert answer.json()["page_url"] is None
    results = await private.http.get("/api/v1/changes/1234/results", headers=bearer(READ_TOKEN))
    assert results.status_code == 200


async def test_the_read_token_neither_reports_nor_administers(private: Harness) -> None:
    posted = await private.http.post(
        "/api/v1/results", json=result("x", "passed"), headers=bearer(READ_TOKEN)
    )
    assert posted.status_code == 403, posted.text
    assert "only reads" in posted.text
    created = await private.http.post(
        "/api/v1/accounts", json={"name": "Sneaky CI"}, headers=bearer(READ_TOKEN)
    )
    assert created.status_code == 403, created.text
    listed = await private.http.get("/api/v1/audit", headers=bearer(READ_TOKEN))
    assert listed.status_code == 403, listed.text
    # The admin token still administers.
    admin = await private.http.post(
        "/api/v1/accounts", json={"name": "Real CI"}, headers=bearer(ADMIN_TOKEN)
    )
    assert admin.status_code == 201, admin.text


# -- CORS ---------------------------------------------------------------------------------


async def test_the_gerrit_origin_may_read_with_a_token(api: Harness) -> None:
    preflight = await api.http.options(
        CHECKS,
        headers={
            "Origin": GERRIT,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == GERRIT
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    read = await api.http.get(CHECKS, headers={"Origin": GERRIT})
    assert read.headers["access-control-allow-origin"] == GERRIT


async def test_another_origin_and_writes_are_refused(api: Harness) -> None:
    evil = "https://evil.example.com"
    preflight = await api.http.options(
        CHECKS, headers={"Origin": evil, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    read = await api.http.get(CHECKS, headers={"Origin": evil})
    assert "access-control-allow-origin" not in read.headers
    write = await api.http.options(
        "/api/v1/results", headers={"Origin": GERRIT, "Access-Control-Request-Method": "POST"}
    )
    assert write.status_code == 400
    # A lookalike of the configured origin is another origin.
    lookalike = await api.http.get(CHECKS, headers={"Origin": GERRIT + ".evil.com"})
    assert "access-control-allow-origin" not in lookalike.headers


async def test_without_gerrit_origins_no_browser_origin_is_allowed(store_url: str) -> None:
    async with harness(store_url) as bare:
        read = await bare.http.get(CHECKS, headers={"Origin": GERRIT})
        assert read.status_code == 200
        assert "access-control-allow-origin" not in read.headers


# -- the plugin file -----------------------------------------------------------------------


def configured(text: str) -> Any:
    found = re.findall(r'(?:const|var|let) RAW_CONFIG = ("(?:[^"\\]|\\.)*");', text)
    assert len(found) == 1, "the plugin's configuration literal is missing"
    return json.loads(json.loads(found[0]))


async def test_the_plugin_is_served_configured_for_this_service(private: Harness) -> None:
    # Served even when reads are private: it holds no secret.
    answer = await private.http.get("/plugins/crosscheck-checks.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert PLACEHOLDER not in answer.text
    assert READ_TOKEN not in answer.text
    assert configured(answer.text) == {
        "resultsUrl": "http://results",
        "readToken": None,
        "pollSeconds": 60,
    }


async def test_a_read_token_equal_to_the_admin_token_only_reads(store_url: str) -> None:
    """Refused at start (check_tokens); were it not, it must still grant nothing more."""
    async with harness(store_url, public_reads=False, read_token=ADMIN_TOKEN) as same:
        assert (await same.http.get(CHECKS, headers=bearer(ADMIN_TOKEN))).status_code == 200
        created = await same.http.post(
            "/api/v1/accounts", json={"name": "Sneaky CI"}, headers=bearer(ADMIN_TOKEN)
        )
        assert created.status_code == 403, created.text
    with pytest.raises(SecretError, match="the read token is the admin token"):
        check_tokens(ResultsSettings(admin_token=lambda: "x", read_token=lambda: "x"))
    check_tokens(ResultsSettings(admin_token=lambda: "x", read_token=lambda: "y"))


async def test_a_running_result_delivered_late_does_not_hide_the_final_one(api: Harness) -> None:
    """serve's running report may be retried past its item's report: each carries the time
    it was queued, and the newest by that time is the job's current result."""
    token = await api.account("Acme CI")
    now = datetime.now(UTC)
    final = result("tempest", "passed", reported_at=now.isoformat())
    running = result(
        "tempest", "in_progress", reported_at=(now - timedelta(seconds=30)).isoformat()
    )
    await report(api, token, final)
    await report(api, token, running)
    body = (await api.http.get(CHECKS, params={"project": "openstack/nova"})).json()
    (acme,) = [ci for ci in body["cis"] if ci["name"] == "Acme CI"]
    assert [r["value"] for r in acme["results"]] == ["passed"]


async def test_behind_a_proxy_the_public_url_is_written_in(store_url: str) -> None:
    async with harness(store_url, pages=PAGES, public_url="https://ci.example.org") as proxied:
        answer = await proxied.http.get(
            "/plugins/crosscheck-checks.js", headers={"Host": "evil.example.com"}
        )
        assert configured(answer.text)["resultsUrl"] == "https://ci.example.org"
        body = (await proxied.http.get(CHECKS)).json()
        assert body["page_url"] == "https://ci.example.org/changes/1234"
