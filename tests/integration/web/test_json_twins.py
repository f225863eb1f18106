"""The JSON twins and the HTML pages through the ASGI app, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from crosscheck.model.expected import ExpectedCIs
from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results.service import ResultsService
from crosscheck.store import open_store
from crosscheck.web import PagesSettings, pages_router

NOW = datetime.now(UTC)


def item(change: int, patchset: int, job: str, value: ResultValue, **extra: object) -> NewResult:
    return NewResult("openstack/nova", change, patchset, job, value, **extra)  # type: ignore[arg-type]


@pytest.fixture
async def client(store_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, ResultsService]]:
    engine = await open_store(store_url)
    service = ResultsService(engine)
    settings = PagesSettings(
        expected_cis=ExpectedCIs((("openstack/*", ("Acme CI", "Other CI")),)), page_size=3
    )
    app = FastAPI()
    app.include_router(pages_router(service, settings, prefix="/ci"))
    await service.accounts.create("Acme CI", allowed_projects=["*"])
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pages") as http:
        yield http, service
    await engine.dispose()


async def test_change_twin_has_the_matrix_and_missing_cis(
    client: tuple[httpx.AsyncClient, ResultsService],
) -> None:
    http, service = client
    await service.report(
        "Acme CI",
        [
            item(10, 1, "unit", ResultValue.FAILED, reported_at=NOW - timedelta(minutes=5)),
            item(10, 1, "unit", ResultValue.PASSED, duration=61.0),
            item(10, 2, "lint", ResultValue.UNSTABLE, voting=False),
        ],
    )
    response = await http.get("/ci/json/changes/10")
    assert response.status_code == 200
    data = response.json()
    assert data["patchsets"] == [2, 1]
    assert data["missing"] == ["Other CI"]
    rows = {(r["account"], r["job"]): r["cells"] for r in data["rows"]}
    assert rows[("Acme CI", "unit")][0] is None
    assert rows[("Acme CI", "unit")][1]["value"] == "passed"
    assert rows[("Acme CI", "unit")][1]["runs"] == 2
    assert rows[("Acme CI", "unit")][1]["seconds"] == 61.0
    assert rows[("Acme CI", "unit")][1]["duration"] == "1m 1s"
    assert rows[("Acme CI", "lint")][0]["voting"] is False
    html = await http.get("/ci/changes/10")
    assert html.status_code == 200
    assert 'href="/ci/json/changes/10"' in html.text
    assert "script-src" not in html.headers["content-security-policy"]
    assert "default-src 'none'" in html.headers["content-security-policy"]


async def test_unknown_change_and_account_are_404_in_both_forms(
    client: tuple[httpx.AsyncClient, ResultsService],
) -> None:
    http, _ = client
    for path in ("/ci/json/changes/77", "/ci/changes/77", "/ci/json/cis/Nobody", "/ci/cis/Nobody"):
        response = await http.get(path)
        assert response.status_code == 404, path
    assert "no CI account named 'Nobody'" in (await http.get("/ci/json/cis/Nobody")).text


async def test_health_twin_counts_and_flags(
    client: tuple[httpx.AsyncClient, ResultsService],
) -> None:
    http, service = client
    await service.report("Acme CI", [item(20 + i, 1, "unit", ResultValue.FAILED) for i in range(3)])
    await service.report("Acme CI", [item(30, 1, "unit", ResultValue.PASSED)])
    data = (await http.get("/ci/json/health")).json()
    (row,) = data["rows"]
    assert row["account"] == "Acme CI"
    assert row["results_24h"] == 4
    assert row["success_7d"] == 0.25
    assert row["low_success"] is True
    assert row["silent"] is False
    assert data["low_success_below"] == 0.6


async def test_history_pages_never_skip_or_repeat_results_with_equal_times(
    client: tuple[httpx.AsyncClient, ResultsService],
) -> None:
    http, service = client
    # Earlier than the late result, on the same UTC day (an hour back from 00:30 is
    # yesterday, and the day's count below would miss them).
    same = max(NOW - timedelta(hours=1), NOW.replace(hour=0, minute=0, second=0, microsecond=0))
    await service.report(
        "Acme CI",
        [item(40 + i, 1, f"job-{i}", ResultValue.PASSED, reported_at=same) for i in range(7)],
    )
    await service.report("Acme CI", [item(50, 1, "late", ResultValue.FAILED)])
    seen: list[str] = []
    params: dict[str, str] = {}
    for _ in range(10):
        data = (await http.get("/ci/json/cis/Acme%20CI", params=params)).json()
        seen += [entry["uuid"] for entry in data["history"]]
        if data["next_page"] is None:
            break
        params = {"before": data["next_page"]}
    assert len(seen) == 8
    assert len(set(seen)) == 8
    first = (await http.get("/ci/json/cis/Acme%20CI")).json()
    assert first["history"][0]["job"] == "late"
    assert first["daily"][-1]["final"] == 8
    assert first["daily"][-1]["rate"] == pytest.approx(7 / 8)


async def test_bad_cursor_and_days_are_refused_clearly(
    client: tuple[httpx.AsyncClient, ResultsService],
) -> None:
    http, _ = client
    bad = await http.get("/ci/json/cis/Acme%20CI", params={"before": "yesterday"})
    assert bad.status_code == 400
    assert "page cursor 'yesterday' is malformed" in bad.text
    html = await http.get("/ci/cis/Acme%20CI", params={"before": "yesterday"})
    assert html.status_code == 400
    assert "malformed" in html.text
    too_long = await http.get("/ci/json/cis/Acme%20CI", params={"days": 400})
    assert too_long.status_code == 422


async def test_plot_alone_is_svg(client: tuple[httpx.AsyncClient, ResultsService]) -> None:
    http, service = client
    await service.report("Acme CI", [item(60, 1, "unit", ResultValue.PASSED)])
    response = await http.get("/ci/cis/Acme%20CI/success.svg", params={"days": 7})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith("<?xml")
    assert response.text.count("<circle") == 1
    assert "<script" not in response.text


async def test_root_leads_to_the_health_table(
    client: tuple[httpx.AsyncClient, ResultsService],
) -> None:
    http, _ = client
    response = await http.get("/ci/")
    assert response.status_code == 307
    assert response.headers["location"] == "/ci/health"
