"""Job results to a results service: the body the public API gets, refusals, retries that
never store twice (a fake service here; tests/e2e/test_ci_loop.py runs the real one)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.drivers.base import TransientReportError
from crosscheck.drivers.results.reporter import ResultsReporter, result_value
from crosscheck.model.report import (
    RESULTS_SERVICE,
    RUNNING,
    JobLine,
    Report,
    ReportOutcome,
    ReportState,
)
from crosscheck.model.results import ResultValue
from crosscheck.reports.queue import ReportQueue

from .delivery import deliver

TOKEN = "t0ken-" + "x" * 40
QUEUED = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
REPORT = Report(
    key="item-7-@results",
    connection=RESULTS_SERVICE,
    project="acme/driver",
    change=1234,
    patchset=2,
    revision="a" * 40,
    message="",
    pipeline="check",
    branch="main",
    jobs=(
        JobLine(
            "unit", "SUCCESS", "https://ci.example.org/logs/34/1234/2/check/unit/b1/", 62, True
        ),
        JobLine("lab", "TIMED_OUT", "", 3600.5, False),
    ),
    queued_at=QUEUED.timestamp(),
)


class FakeResultsService:
    """The two routes the reporter uses, with scripted answers to the POSTs."""

    def __init__(self, *answers: int, stored: list[dict[str, Any]] | None = None) -> None:
        self.answers = list(answers)
        self.stored = stored or []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"results": self.stored})
        status = self.answers.pop(0)
        if status == 201:
            return httpx.Response(201, json={"results": []})
        return httpx.Response(
            status,
            json={
                "detail": "refused",
                "errors": [{"field": "results[0].project", "message": "not allowed"}],
            },
        )

    @property
    def posts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]


def reporter(fake: FakeResultsService) -> ResultsReporter:
    return ResultsReporter(
        "https://results.example.org/", "Acme CI", TOKEN, transport=httpx.MockTransport(fake)
    )


async def test_an_item_is_one_batch_through_the_public_api_with_the_token() -> None:
    fake = FakeResultsService(201)
    outcome = await reporter(fake).send(REPORT)
    assert outcome == ReportOutcome(
        ReportState.SENT, "results-api", "2 result(s) stored as CI account 'Acme CI'"
    )
    (post,) = fake.requests
    assert str(post.url) == "https://results.example.org/api/v1/results/batch"
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    unit, lab = json.loads(post.content)["results"]
    assert unit == {
        "project": "acme/driver",
        "change": 1234,
        "patchset": 2,
        "job": "unit",
        "value": "passed",
        "url": "https://ci.example.org/logs/34/1234/2/check/unit/b1/",
        "duration": 62,
        "voting": True,
        "branch": "main",
        "revision": "a" * 40,
        "category": "check",
        "reported_at": "2026-03-01T12:00:00.250000+00:00",
    }
    # No logs, no url; a result the values do not name is said in the comment.
    assert "url" not in lab
    assert (lab["value"], lab["comment"], lab["voting"]) == ("failed", "TIMED_OUT", False)


def test_build_results_map_to_result_values() -> None:
    assert result_value("SUCCESS") is ResultValue.PASSED
    assert result_value("CANCELED") is ResultValue.SKIPPED
    for failed in ("FAILURE", "TIMED_OUT", "MERGE_CONFLICT", "?"):
        assert result_value(failed) is ResultValue.FAILED
    # No verdict on the change, as its Gerrit comment says: not shown as its failure.
    for not_run in ("NODE_FAILURE", "ERROR"):
        assert result_value(not_run) is ResultValue.UNSTABLE


async def test_a_refusal_is_final_and_says_why() -> None:
    fake = FakeResultsService(403)
    outcome = await reporter(fake).send(REPORT)
    assert outcome.state is ReportState.FAILED
    assert outcome.detail == (
        "the results service refused them (403): results[0].project: not allowed"
    )
    assert TOKEN not in outcome.detail


@pytest.mark.parametrize("status", [500, 503, 429, 408])
async def test_a_server_error_or_a_rate_limit_is_transient(status: int) -> None:
    with pytest.raises(TransientReportError, match=f"answered {status}"):
        await reporter(FakeResultsService(status)).send(REPORT)


async def test_an_unreachable_service_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    unreachable = ResultsReporter(
        "http://127.0.0.1:9", "Acme CI", TOKEN, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(TransientReportError, match="cannot reach the results service") as caught:
        await unreachable.send(REPORT)
    assert TOKEN not in str(caught.value)


def stored(job: str, when: datetime) -> dict[str, Any]:
    return {"job": job, "ci": "Acme CI", "reported_at": when.isoformat()}


async def test_a_retry_finds_its_earlier_attempt_stored_and_does_not_post_again() -> None:
    fake = FakeResultsService(stored=[stored("unit", QUEUED), stored("lab", QUEUED)])
    retry = Report(**{**REPORT.__dict__, "earlier_attempts": 1})
    outcome = await reporter(fake).send(retry)
    assert outcome == ReportOutcome(ReportState.SENT, "results-api", "found already stored")
    (check,) = fake.requests
    assert check.url.path == "/api/v1/changes/1234/patchsets/2/results"
    assert check.url.params["ci"] == "Acme CI"
    assert check.url.params["history"] == "true"
    assert fake.posts == []


async def test_results_of_another_run_of_the_same_jobs_are_not_this_report() -> None:
    earlier_run = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    fake = FakeResultsService(201, stored=[stored("unit", earlier_run), stored("lab", earlier_run)])
    retry = Report(**{**REPORT.__dict__, "earlier_attempts": 2})
    outcome = await reporter(fake).send(retry)
    assert outcome.state is ReportState.SENT
    assert len(fake.posts) == 1


async def test_an_item_without_finished_builds_has_nothing_to_report() -> None:
    fake = FakeResultsService()
    outcome = await reporter(fake).send(Report(**{**REPORT.__dict__, "jobs": ()}))
    assert outcome.state is ReportState.SKIPPED
    assert fake.requests == []


async def test_the_queue_keeps_the_jobs_across_a_restart_and_retries_without_a_duplicate(
    engine: AsyncEngine,
) -> None:
    # The first process queued the report and died before sending it.
    assert await ReportQueue(engine, {}).enqueue(REPORT)
    fake = FakeResultsService(503, 201)
    queue = ReportQueue(engine, {RESULTS_SERVICE: reporter(fake)}, base_backoff=0.001)
    assert await deliver(queue, REPORT.key) is ReportState.SENT
    first, second = (json.loads(p.content)["results"] for p in fake.posts)
    assert first == second  # the same batch, with the same reported_at
    assert [r["job"] for r in first] == ["unit", "lab"]
    assert (first[0]["branch"], first[0]["category"]) == ("main", "check")
    # Before the second POST it checked that the first had not landed.
    assert [r.method for r in fake.requests] == ["POST", "GET", "POST"]


async def test_a_queue_resends_only_the_reports_of_its_own_destinations(
    engine: AsyncEngine,
) -> None:
    gerrit = Report(
        key="item-7-review",
        connection="review",
        project="acme/driver",
        change=1234,
        patchset=2,
        revision="a" * 40,
        message="Build succeeded (check pipeline).",
    )
    assert await ReportQueue(engine, {}).enqueue(gerrit)
    assert await ReportQueue(engine, {}).enqueue(REPORT)
    fake = FakeResultsService(201)
    results = ReportQueue(engine, {RESULTS_SERVICE: reporter(fake)})
    assert await deliver(results, REPORT.key) is ReportState.SENT
    await asyncio.sleep(0.05)
    assert (await results.state(gerrit.key))[0] is ReportState.PENDING


async def test_jobs_just_planned_are_in_progress_with_their_console_and_no_duration() -> None:
    fake = FakeResultsService(201)
    console = "https://ci.example.org/builds/b1/console"
    running = replace(
        REPORT,
        key="item-7-@results-running",
        jobs=(JobLine("unit", RUNNING, console, 0.0, True),),
    )
    await reporter(fake).send(running)
    (post,) = fake.requests
    (unit,) = json.loads(post.content)["results"]
    assert (unit["value"], unit["url"]) == ("in_progress", console)
    assert "duration" not in unit
    assert "comment" not in unit  # RUNNING is the value, not a reason to explain
