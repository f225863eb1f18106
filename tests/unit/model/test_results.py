"""Result values, current results, durations, project patterns and result checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosscheck.model.account_text import (
    account_name_problem,
    project_allowed,
    project_pattern_problem,
)
from crosscheck.model.results import (
    NewResult,
    Result,
    ResultValue,
    WindowCounts,
    current_results,
    format_duration,
    parse_duration,
    result_problems,
    runs_of,
)

T0 = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("passed", ResultValue.PASSED),
        ("SUCCESS", ResultValue.PASSED),
        ("in progress", ResultValue.IN_PROGRESS),
        ("In-Progress", ResultValue.IN_PROGRESS),
        ("not registered", ResultValue.NOT_REGISTERED),
        ("FAILURE", ResultValue.FAILED),
    ],
)
def test_values_as_people_write_them(text: str, value: ResultValue) -> None:
    assert ResultValue.parse(text) is value


def test_an_unknown_value_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown result 'green': use one of passed, failed"):
        ResultValue.parse("green")


def test_verify_status_numbers_both_ways() -> None:
    assert ResultValue.from_verify_status(-3) is ResultValue.FAILED
    assert ResultValue.from_verify_status(0) is ResultValue.UNSTABLE
    assert ResultValue.from_verify_status(1) is ResultValue.PASSED
    assert ResultValue.from_verify_status(2) is ResultValue.IN_PROGRESS
    with pytest.raises(ValueError, match="value 5 has no meaning"):
        ResultValue.from_verify_status(5)
    assert [v.verify_status for v in ResultValue] == [1, -1, 0, 2, 0, 0]


def _result(id_: int, account: str, job: str, minutes: int, patchset: int = 1) -> Result:
    return Result(
        id=id_,
        uuid=f"u{id_}",
        account=account,
        project="p",
        change=1,
        patchset=patchset,
        job=job,
        value=ResultValue.PASSED,
        reported_at=T0 + timedelta(minutes=minutes),
    )


def test_current_is_the_newest_per_patchset_account_and_job() -> None:
    results = [
        _result(1, "a", "j", 0),
        _result(2, "a", "j", 10),
        _result(3, "a", "k", 5),
        _result(4, "b", "j", 1),
        _result(5, "a", "j", 5, patchset=2),
        _result(6, "a", "j", 10),  # same time as 2: the later row wins
    ]
    assert [r.id for r in current_results(results)] == [3, 4, 5, 6]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("1m 30s", 90),
        ("1h2m3s", 3723),
        ("1 min 30 sec", 90),
        ("2.5 sec", 2.5),
        ("1 hr 2 min", 3720),
        ("250 ms", 0.25),
    ],
)
def test_durations_are_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "1 fortnight", "1m and", "m"])
def test_unreadable_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_are_written_like_the_plugin() -> None:
    assert [format_duration(s) for s in (0, 59.6, 90, 3723, 7200)] == [
        "0s",
        "1m",
        "1m 30s",
        "1h 2m 3s",
        "2h",
    ]


def test_project_patterns_are_globs_or_regexes() -> None:
    patterns = ["openstack/*", "^x/(y|z)$"]
    assert project_allowed(patterns, "openstack/nova")
    assert project_allowed(patterns, "openstack/a/b")  # * crosses /
    assert project_allowed(patterns, "x/y")
    assert not project_allowed(patterns, "x/yy")
    assert not project_allowed(patterns, "other")
    assert not project_allowed([], "openstack/nova")
    assert project_pattern_problem("^(") is not None
    assert project_pattern_problem("  ") is not None
    assert project_pattern_problem("a/*") is None


def test_account_names() -> None:
    assert account_name_problem("IBM PowerKVM CI") is None
    assert account_name_problem("a:b") is not None
    assert account_name_problem("") is not None
    assert account_name_problem(" a") is not None


def test_result_problems_name_each_field() -> None:
    bad = NewResult(
        project="",
        change=0,
        patchset=0,
        job="x" * 201,
        value=ResultValue.PASSED,
        branch=" master",
        url="ftp://x",
        duration=-1,
        comment="c" * 10_001,
        reported_at=datetime(2024, 1, 1),
    )
    fields = [field for field, _ in result_problems(bad, T0)]
    assert fields == [
        "project",
        "job",
        "branch",
        "change",
        "patchset",
        "url",
        "duration",
        "comment",
        "reported_at",
    ]
    good = NewResult(project="p", change=1, patchset=1, job="j", value=ResultValue.PASSED)
    assert result_problems(good, T0) == []


def test_success_rate_counts_only_results_that_ran_to_an_end() -> None:
    counts = WindowCounts({ResultValue.PASSED: 3, ResultValue.FAILED: 1, ResultValue.SKIPPED: 10})
    assert counts.total == 14
    assert counts.success_rate == 0.75
    assert WindowCounts({ResultValue.SKIPPED: 1}).success_rate is None


def test_a_job_reported_running_is_not_a_result_more() -> None:
    counts = WindowCounts({ResultValue.IN_PROGRESS: 4, ResultValue.PASSED: 2})
    assert counts.total == 2
    assert WindowCounts({ResultValue.IN_PROGRESS: 1}).total == 0
    assert runs_of(2, ResultValue.PASSED) == 2
    assert runs_of(1, "in_progress") == 2  # a re-run started
    assert runs_of(0, ResultValue.IN_PROGRESS) == 1
