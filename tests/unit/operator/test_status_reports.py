"""`crosscheck status` shows the reports not delivered: those waiting for their next
attempt (attempts, last error, age, when it comes) and those given up in the last day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.cli.status import render
from crosscheck.model.config import Config
from crosscheck.model.report import RESULTS_SERVICE, Report
from crosscheck.reports.queue import ReportQueue
from crosscheck.store.tables import reports

from .harness import ADMIN_TOKEN, CI_WITH_TOKEN, CONFIG, TOKEN_VARIABLE, load, operator_api

REPORT = Report(
    key="item-1-review",
    connection="review",
    project="acme/driver",
    change=3,
    patchset=2,
    revision="a" * 40,
    message="Build succeeded (check pipeline).",
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    return load(tmp_path, CI_WITH_TOKEN + CONFIG)


async def set_row(engine: AsyncEngine, key: str, **values: object) -> None:
    async with engine.begin() as db:
        await db.execute(update(reports).where(reports.c.report_key == key).values(**values))


async def test_waiting_and_given_up_reports_are_in_the_status(
    engine: AsyncEngine, config: Config
) -> None:
    now = datetime.now(UTC)
    queue = ReportQueue(engine, {})
    waiting = REPORT
    results = replace(REPORT, key="item-1-@results", connection=RESULTS_SERVICE)
    given_up = replace(REPORT, key="item-2-review", change=4)
    long_ago = replace(REPORT, key="item-3-review", change=5)
    sent = replace(REPORT, key="item-4-review", change=6)
    gone = replace(REPORT, key="item-5-gone", connection="gone", change=7)
    for report in (waiting, results, given_up, long_ago, sent, gone):
        assert await queue.enqueue(report)
    due = now + timedelta(seconds=40)
    await set_row(
        engine, waiting.key, attempts=3, detail="cannot reach Gerrit: refused", next_attempt_at=due
    )
    # A time left from the attempt before is no next attempt while this one is sent.
    await set_row(engine, results.key, state="sending", attempts=1, next_attempt_at=due)
    reason = "given up after 24h 00m 00s and 40 attempt(s): Gerrit answered 503"
    await set_row(engine, given_up.key, state="failed", attempts=40, detail=reason, finished_at=now)
    await set_row(
        engine, long_ago.key, state="failed", detail="old", finished_at=now - timedelta(days=2)
    )
    await set_row(engine, sent.key, state="sent", attempts=1, finished_at=now)
    async with operator_api(engine, config) as api:
        section = (await api.status())["reports"]
    assert section["pending_count"] == 3
    assert section["failed_count"] == 1
    first, second, third = section["pending"]
    assert (first["key"], first["destination"], first["state"]) == (
        "item-1-review",
        "review",
        "pending",
    )
    assert (first["change"], first["patchset"], first["attempts"]) == (3, 2, 3)
    assert first["detail"] == "cannot reach Gerrit: refused"
    assert datetime.fromisoformat(first["next_attempt_at"]) == due
    assert abs(datetime.fromisoformat(first["queued_at"]) - now) < timedelta(minutes=1)
    assert (second["destination"], second["state"]) == (RESULTS_SERVICE, "sending")
    assert second["next_attempt_at"] is None
    assert first["destination_configured"] is True
    assert second["destination_configured"] is True  # the embedded results service
    # A connection removed from the configuration: no queue sends its report now.
    assert (third["destination"], third["destination_configured"]) == ("gone", False)
    (failed,) = section["failed"]
    assert (failed["key"], failed["attempts"], failed["detail"]) == ("item-2-review", 40, reason)
    assert failed["finished_at"] is not None


def test_the_cli_lists_waiting_and_given_up_reports() -> None:
    data = {
        "pipelines": [],
        "running_builds": [],
        "waiting_builds": 0,
        "reports": {
            "pending": [
                {
                    "key": "item-1-review",
                    "destination": "review",
                    "project": "acme/driver",
                    "change": 3,
                    "patchset": 2,
                    "state": "pending",
                    "attempts": 7,
                    "queued_at": "2024-05-01T10:00:00+00:00",
                    "finished_at": None,
                    "detail": "cannot reach Gerrit: [red]refused",
                    "next_attempt_at": "2024-05-01T10:06:40+00:00",
                },
                {
                    "key": "item-1-@results",
                    "destination": RESULTS_SERVICE,
                    "project": "acme/driver",
                    "change": 3,
                    "patchset": 2,
                    "state": "sending",
                    "attempts": 2,
                    "queued_at": "2024-05-01T10:00:00+00:00",
                    "finished_at": None,
                    "detail": None,
                },
            ],
            "pending_count": 2,
            "failed": [
                {
                    "key": "item-2-review",
                    "destination": "review",
                    "project": "acme/driver",
                    "change": 4,
                    "patchset": 1,
                    "state": "failed",
                    "attempts": 1,
                    "queued_at": "2024-05-01T09:00:00+00:00",
                    "finished_at": "2024-05-01T09:30:00+00:00",
                    "detail": "Gerrit answered 403 to POST: \x1b]0;owned\x07",
                }
            ],
            "failed_count": 1,
        },
    }
    console = Console(width=140, record=True, color_system=None)
    render(data, console, datetime(2024, 5, 1, 10, 5, tzinfo=UTC))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert "2 report(s) waiting to be delivered, 1 given up in the last 24h" in lines
    rows = [line for line in lines if line.startswith("│ ")]
    assert any(
        "3,2" in r
        and "review" in r
        and "│ 7 " in r
        and "5m 00s ago" in r
        and "in 1m 40s" in r
        and "[red]refused" in r
        for r in rows
    )
    assert any("results service" in r and "sending (attempt 2)" in r for r in rows)
    assert any("4,1" in r and "35m 00s ago" in r and "403" in r for r in rows)
    # An escape sequence in a server's words is shown, never sent to the terminal.
    assert "\x1b" not in console.export_text()
    assert any("\\x1b]0;owned\\x07" in r for r in rows)
    assert "reports waiting" in lines
    assert "reports given up" in lines


def test_the_cli_reads_a_server_without_a_reports_section() -> None:
    console = Console(width=100, record=True, color_system=None)
    render({"pipelines": [], "running_builds": [], "waiting_builds": 0}, console, datetime.now(UTC))
    assert "report(s)" not in console.export_text()


def pending_report(**fields: object) -> dict[str, object]:
    """A waiting report as /api/v1/status gives it, to change 3,2 of acme/driver."""
    return {
        "key": "item-1-review",
        "destination": "review",
        "project": "acme/driver",
        "change": 3,
        "patchset": 2,
        "state": "pending",
        "attempts": 3,
        "queued_at": "2024-05-01T10:00:00+00:00",
        "finished_at": None,
        "detail": "Gerrit answered 503",
        **fields,
    }


def rendered_row(report: dict[str, object]) -> list[str]:
    """The cells of the report's line in `crosscheck status`, at 10:05."""
    data = {
        "pipelines": [],
        "running_builds": [],
        "waiting_builds": 0,
        "reports": {"pending": [report], "pending_count": 1, "failed": [], "failed_count": 0},
    }
    console = Console(width=140, record=True, color_system=None)
    render(data, console, datetime(2024, 5, 1, 10, 5, tzinfo=UTC))
    (row,) = [line for line in console.export_text().splitlines() if "3,2" in line]
    return [cell.strip() for cell in row.strip("│ ").split("│")]


@pytest.mark.parametrize(
    ("state", "attempts", "due", "shown"),
    [
        ("sending", 2, None, "sending (attempt 2)"),
        ("pending", 0, None, ""),  # not tried yet
        ("pending", 3, "2024-05-01T10:04:00+00:00", "now"),  # due: its back-off is over
        ("pending", 3, "2024-05-01T10:05:00.500000+00:00", "now"),  # due within the second
        ("pending", 3, "2024-05-01T10:05:01+00:00", "in 1s"),
        ("pending", 3, None, "now"),  # woken early: waiting for a worker
        ("pending", 3, "absent", ""),  # a server from before says nothing of it
    ],
)
def test_the_next_attempt_column_of_a_pending_report(
    state: str, attempts: int, due: str | None, shown: str
) -> None:
    report = pending_report(state=state, attempts=attempts)
    if due != "absent":
        report["next_attempt_at"] = due
    cells = rendered_row(report)
    assert cells[4] == shown, cells


def test_a_report_to_a_destination_no_longer_configured_says_so() -> None:
    report = pending_report(
        destination="gone",
        state="sending",  # serve stopped mid-attempt; no queue resumes it now
        attempts=4,
        detail=None,
        next_attempt_at=None,
        destination_configured=False,
    )
    row = " ".join(rendered_row(report))
    assert "destination not configured" in row
    assert "sending" not in row
