from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosscheck.model.results import AccountStatistics, Result, ResultValue, WindowCounts
from crosscheck.web.views import change_page, health_row, safe_url

NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)


def result(
    id_: int, account: str, job: str, patchset: int, value: ResultValue, **extra: object
) -> Result:
    fields: dict[str, object] = {
        "id": id_,
        "uuid": f"u{id_}",
        "account": account,
        "project": "p",
        "change": 7,
        "patchset": patchset,
        "job": job,
        "value": value,
        "reported_at": NOW + timedelta(minutes=id_),
    }
    fields.update(extra)
    return Result(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>x</script>",
        "vbscript:x",
        "//evil.example/x",
        "https://ok.example/a b",
        "https://ok.example/\nx",
        "ftp://files.example/x",
        "",
    ],
)
def test_only_web_addresses_become_links(url: str) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize("url", ["https://ci.example/logs/1", "http://x/y?z=1&a=<b>", "HTTPS://X/"])
def test_web_addresses_are_kept_as_written(url: str) -> None:
    assert safe_url(url) == url


def test_matrix_holds_the_current_result_per_cell_and_counts_runs() -> None:
    history = [
        result(1, "B CI", "unit", 1, ResultValue.FAILED),
        result(2, "A CI", "lint", 2, ResultValue.PASSED, duration=75.0, url="javascript:x"),
        result(3, "B CI", "unit", 1, ResultValue.PASSED, url="https://b/3"),
    ]
    page = change_page(7, history, ["A CI", "B CI", "C CI"], "https://review.example/")
    assert page.patchsets == [2, 1]
    assert [(r.account, r.job) for r in page.rows] == [("A CI", "lint"), ("B CI", "unit")]
    lint, unit = page.rows
    assert lint.cells[1] is None
    assert lint.cells[0] is not None
    assert lint.cells[0].duration == "1m 15s"
    assert lint.cells[0].url is None
    assert lint.cells[0].unsafe_url == "javascript:x"
    assert unit.cells[1] is not None
    assert unit.cells[1].value is ResultValue.PASSED
    assert unit.cells[1].runs == 2
    assert page.missing == ["B CI", "C CI"]  # B CI reported on patchset 1 only
    assert page.gerrit_url == "https://review.example/c/7"


def stats(
    counts: dict[ResultValue, int], last_seen: datetime | None, enabled: bool = True
) -> AccountStatistics:
    window = WindowCounts(counts)
    return AccountStatistics(
        "CI", {"24h": window, "7d": window, "30d": window}, last_seen, None, enabled
    )


def test_health_flags_a_ci_silent_for_more_than_a_day() -> None:
    ok = {ResultValue.PASSED: 1}
    assert not health_row(stats(ok, NOW - timedelta(hours=23)), NOW).silent
    assert health_row(stats(ok, NOW - timedelta(hours=25)), NOW).silent
    assert health_row(stats({}, None), NOW).silent
    assert not health_row(stats({}, None, enabled=False), NOW).flagged


def test_health_flags_below_sixty_percent_of_final_results() -> None:
    def low(counts: dict[ResultValue, int]) -> bool:
        return health_row(stats(counts, NOW), NOW).low_success

    assert low({ResultValue.PASSED: 5, ResultValue.FAILED: 4})  # 55%
    assert not low({ResultValue.PASSED: 6, ResultValue.FAILED: 4})  # 60%
    # Jobs still running or skipped are not failures.
    assert not low({ResultValue.PASSED: 3, ResultValue.IN_PROGRESS: 10, ResultValue.SKIPPED: 9})
    assert not low({ResultValue.IN_PROGRESS: 2})


def test_health_counts_a_job_that_reported_running_once() -> None:
    row = health_row(stats({ResultValue.IN_PROGRESS: 5, ResultValue.PASSED: 4}, NOW), NOW)
    assert (row.results_24h, row.results_30d) == (4, 4)
    assert row.success_30d == 1.0


def test_matrix_counts_a_run_reported_running_then_ended_once() -> None:
    values = [ResultValue.IN_PROGRESS, ResultValue.PASSED, ResultValue.IN_PROGRESS]
    history = [result(i, "A CI", "unit", 1, value) for i, value in enumerate(values, 1)]
    cell = change_page(7, history[:2], ["A CI"]).rows[0].cells[0]
    assert cell is not None
    assert (cell.value, cell.runs) == (ResultValue.PASSED, 1)
    cell = change_page(7, history, ["A CI"]).rows[0].cells[0]
    assert cell is not None
    assert (cell.value, cell.runs) == (ResultValue.IN_PROGRESS, 2)
