"""The results app serves the pages beside its API, and only when reads are public."""

from __future__ import annotations

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
