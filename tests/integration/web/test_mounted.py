"""The results app serves the pages beside its API, and only when reads are public."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.results.api_harness import bearer, harness


async def test_results_app_serves_pages_and_their_twins(store_url: str) -> None:
    async with harness(store_url) as api:
        token = await api.account("Acme CI")
        posted = await api.http.post(
            "/api/v1/results",
            json={"project": "openstack/nova", "change": 5, "patchset": 1, "job": "unit",
                  "value": "passed"},
            headers=bearer(token),
        )  # fmt: skip
        assert posted.status_code == 201, posted.text
        page = await api.http.get("/changes/5")
        assert page.status_code == 200
        assert 'data-job="unit"' in page.text
        twin = await api.http.get("/json/health")
        assert [row["account"] for row in twin.json()["rows"]] == ["Acme CI"]
        schema = (await api.http.get("/openapi.json")).json()
        assert "/json/changes/{change}" in schema["paths"]


async def test_private_reads_keep_the_pages_closed(store_url: str) -> None:
    async with harness(store_url, public_reads=False) as api:
        await api.account("Acme CI")
        for path in ("/health", "/json/health", "/cis/Acme%20CI"):
            assert (await api.http.get(path)).status_code == 404, path


async def test_a_page_refusing_its_query_answers_a_browser_with_a_page(store_url: str) -> None:
    """Refused by validation (days out of range) or by the store's rule (a NUL): the
    same status and words, as an escaped page to a browser and as JSON to the rest."""
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    asked = [
        ("/cis/Acme%20CI", {"days": "400"}, "days (query parameter)"),
        ("/cis/json", {"days": "400"}, "days (query parameter)"),  # a CI named json
        ("/health", {"q": "\x00<script>"}, "must not hold a NUL character"),
    ]
    async with harness(store_url) as api:
        await api.account("Acme CI")
        for path, params, words in asked:
            page = await api.http.get(path, params=params, headers=browser)
            assert page.status_code == 422, page.text
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["content-security-policy"].startswith("default-src 'none'")
            assert words in page.text
            assert "<script>" not in page.text
            # An API client reading the page, and a browser reading the JSON twin: JSON.
            for twin, headers in ((path, {}), (f"/json{path}", browser)):
                answer = await api.http.get(twin, params=params, headers=headers)
                assert answer.status_code == 422
                assert words in answer.json()["detail"], answer.text


LAZY_PAGES = """
import asyncio, sys
from tests.integration.results.api_harness import harness

async def main(url):
    async with harness(url) as api:
        before = "jinja2" in sys.modules
        page = await api.http.get("/health")
        print(before, page.status_code, "jinja2" in sys.modules)

asyncio.run(main(sys.argv[1]))
"""


def test_jinja2_and_the_templates_load_with_the_first_page(tmp_path: Path) -> None:
    """An idle serve, or one whose pages nobody reads, holds no Jinja2 (issue 18's idle
    memory): the app with its pages mounted is built without it, and the first page
    read loads it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'crosscheck.db'}"
    done = subprocess.run(
        [sys.executable, "-c", LAZY_PAGES, url],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[3],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "200", "True"]
