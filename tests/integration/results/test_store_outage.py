"""A PostgreSQL server that goes away under the results service, and comes back: 503 with
Retry-After and one warning while it is away, and no failed request once it is back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from crosscheck.http.errors import install_error_handlers
from tests.integration.results.api_harness import ADMIN_TOKEN, bearer, harness
from tests.integration.results.test_api import RESULT
from tests.postgres import PostgresCluster


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    made = PostgresCluster()
    made.start()
    try:
        yield made
    finally:
        made.stop()


async def test_a_store_away_is_a_503_and_its_return_loses_no_request(
    cluster: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness(cluster.create_database()) as api:
        token = await api.account("Acme CI")
        assert (
            await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
        ).status_code == 201
        cluster.pause()
        caplog.set_level(logging.WARNING, logger="crosscheck.http.store_outage")
        answers = [
            await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token)),
            await api.http.get("/api/v1/accounts", headers=bearer(ADMIN_TOKEN)),
            await api.http.get("/api/v1/changes/1234/results"),
        ]
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "30"
            detail = answer.json()["detail"]
            assert detail.startswith("the store does not answer (")
            # A write says its data was not kept; a read only to try again.
            write = answer.request.method == "POST"
            wanted = "): nothing was stored; try again later" if write else "): try again later"
            assert detail.endswith(wanted), detail
        # A browser gets a page saying so, not JSON.
        browser = {"Accept": "Text/HTML,application/xhtml+xml,*/*;q=0.8"}
        page = await api.http.get("/changes/1234", headers=browser)
        assert page.status_code == 503, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["Retry-After"] == "30"
        assert "<h1>Service unavailable</h1>" in page.text
        assert "the store does not answer (" in page.text
        # A write is an API client's whatever it accepts, and q=0 refuses HTML.
        posted = await api.http.post(
            "/api/v1/results", json=RESULT, headers=bearer(token) | browser
        )
        refusing = await api.http.get("/changes/1234", headers={"Accept": "text/html; q=0"})
        twin = await api.http.get("/json/changes/1234", headers=browser)  # documented: JSON
        for answer in (posted, refusing, twin):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/json", answer.headers
            assert answer.json()["detail"].startswith("the store does not answer (")
        warnings = [r.getMessage() for r in caplog.records if r.name.endswith("store_outage")]
        assert len(warnings) == 1, warnings
        assert warnings[0].endswith("requests get 503")
        cluster.resume()
        again = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
        assert again.status_code == 201, again.text
        # A restart while nobody asked: the pool's connections died with the server, and
        # each is tried before it is used, so the first request after is not turned away.
        cluster.pause()
        cluster.resume()
        after = await api.http.post("/api/v1/results", json=RESULT, headers=bearer(token))
        assert after.status_code == 201, after.text


async def test_a_route_that_fails_on_a_file_of_its_own_is_not_an_outage() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/reads-a-file")
    async def reads_a_file() -> None:
        raise FileNotFoundError(2, "No such file or directory")

    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        assert (await http.get("/reads-a-file")).status_code == 500
