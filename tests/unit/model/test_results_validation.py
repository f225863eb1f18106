"""Plain-text and web-address checks of CI accounts; the age window; verify-status values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosscheck.model.account_text import info_url_problem, plain_text_problem
from crosscheck.model.results import (
    CLOCK_SKEW,
    DEFAULT_MAX_RESULT_AGE,
    NewResult,
    ResultValue,
    WindowCounts,
    result_problems,
    verify_status_value,
)

NOW = datetime(2024, 5, 31, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", None),
        ("https://ci.acme.example/about", None),
        ("HTTP://CI.ACME.EXAMPLE", None),
        ("javascript:alert(1)", "http:// or https://"),
        ("data:text/html,<b>", "http:// or https://"),
        ("https://", "http:// or https://"),
        ("https://a b", "http:// or https://"),
        ("https://a/" + "x" * 2000, "longer than 2000"),
    ],
)
def test_info_urls_are_web_addresses(url: str, problem: str | None) -> None:
    found = info_url_problem(url)
    assert found is None if problem is None else problem in (found or "")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Acme & Co, ops@acme.example", None),
        ("<img src=x onerror=alert(1)>", "plain text"),
        ("line\nbreak", "control characters"),
        ("bell\x07", "control characters"),
        ("c1\x85", "control characters"),
        ("x" * 201, "longer than 200"),
    ],
)
def test_owners_are_plain_text(text: str, problem: str | None) -> None:
    found = plain_text_problem(text, 200)
    assert found is None if problem is None else problem in (found or "")


def at(moment: datetime) -> NewResult:
    return NewResult(
        project="p", change=1, patchset=1, job="j", value=ResultValue.PASSED, reported_at=moment
    )


def test_the_age_window_and_the_clock_skew() -> None:
    window = DEFAULT_MAX_RESULT_AGE
    assert result_problems(at(NOW - window + timedelta(seconds=1)), NOW, max_age=window) == []
    ((where, old),) = result_problems(at(NOW - window - timedelta(seconds=1)), NOW, max_age=window)
    assert (where, old.split(",")[0]) == ("reported_at", "is older than 7 days")
    assert "crosscheck results backfill" in old
    # Without a window (a backfill of history), any past time is fine.
    assert result_problems(at(datetime(1970, 1, 1, tzinfo=UTC)), NOW) == []
    assert result_problems(at(NOW + CLOCK_SKEW), NOW, max_age=window) == []
    ((_, ahead),) = result_problems(at(NOW + timedelta(hours=2)), NOW, max_age=window)
    assert ahead.startswith("is in the future (2h ahead, more than 5m of clock skew)")


@pytest.mark.parametrize(
    ("number", "duration", "value"),
    [
        (0, "pending", ResultValue.IN_PROGRESS),  # Buildbot's "build started"
        (0, " Pending ", ResultValue.IN_PROGRESS),
        (0, "1m 2s", ResultValue.UNSTABLE),
        (0, None, ResultValue.UNSTABLE),
        (1, "pending", ResultValue.PASSED),
        (-1, None, ResultValue.FAILED),
        (2, None, ResultValue.IN_PROGRESS),
    ],
)
def test_verify_status_values(number: int, duration: str | None, value: ResultValue) -> None:
    assert verify_status_value(number, duration) is value


def test_started_and_pending_read_as_in_progress_and_never_count() -> None:
    assert ResultValue.parse("started") is ResultValue.IN_PROGRESS
    assert ResultValue.parse("Pending") is ResultValue.IN_PROGRESS
    window = WindowCounts({ResultValue.PASSED: 1, ResultValue.IN_PROGRESS: 5})
    assert window.success_rate == 1.0
    assert not ResultValue.IN_PROGRESS.final
