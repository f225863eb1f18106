"""`report_give_up_after` in the `ci` element: how long an undelivered report is retried."""

from __future__ import annotations

from pathlib import Path

from crosscheck.model.config import DEFAULT_REPORT_GIVE_UP_AFTER

from .helpers import errors, load


def test_reports_are_retried_for_a_day_by_default(tmp_path: Path) -> None:
    result = load(tmp_path, "- ci:\n    name: Acme CI\n")
    assert result.config is not None
    assert result.config.ci.report_give_up_after == DEFAULT_REPORT_GIVE_UP_AFTER == 24 * 3600


def test_the_limit_is_a_duration(tmp_path: Path) -> None:
    result = load(tmp_path, "- ci:\n    name: Acme CI\n    report_give_up_after: 6h30m\n")
    assert result.config is not None
    assert result.config.ci.report_give_up_after == 6 * 3600 + 30 * 60


def test_a_limit_that_is_not_a_duration_is_located(tmp_path: Path) -> None:
    result = load(tmp_path, "- ci:\n    name: Acme CI\n    report_give_up_after: 1 day\n")
    assert errors(result) == [
        "test.yaml:3:27: error: 'report_give_up_after' in ci 'Acme CI': '1 day' is not a "
        "duration: use seconds (3600) or '1h30m', '90m', '45s'"
    ]
