"""serve's results reporter against the real results API on SQLite and PostgreSQL: a
retry after an attempt that landed without an answer finds it stored, by its time."""

from __future__ import annotations

from dataclasses import replace

from crosscheck.drivers.results.reporter import ResultsReporter
from crosscheck.model.report import ReportState

from ...unit.test_results_reporter import REPORT
from .api_harness import harness


async def test_a_retry_finds_the_landed_attempt_and_stores_nothing_twice(store_url: str) -> None:
    async with harness(store_url, max_age=None) as api:  # REPORT is from 2024
        token = await api.account("Acme CI", projects=["acme/*"])
        reporter = ResultsReporter("http://results", "Acme CI", token, transport=api.transport)
        try:
            first = await reporter.send(REPORT)
            again = await reporter.send(replace(REPORT, earlier_attempts=1))
            another_time = replace(REPORT, earlier_attempts=1, queued_at=REPORT.queued_at + 60)
            later = await reporter.send(another_time)
        finally:
            await reporter.aclose()
        stored = await api.http.get(
            f"/api/v1/changes/{REPORT.change}/patchsets/{REPORT.patchset}/results",
            params={"history": "true"},
        )
    assert first.state is ReportState.SENT
    assert (again.state, again.detail) == (ReportState.SENT, "found already stored")
    assert later.detail != "found already stored"  # another time: another report
    assert sorted(r["job"] for r in stored.json()["results"]) == ["lab", "lab", "unit", "unit"]
