"""Statistics per CI account: exact windows from daily counts plus the first day's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosscheck.model.results import ResultValue
from crosscheck.results.service import ResultsService
from tests.integration.results.helpers import new_result

NOW = datetime(2024, 5, 31, 15, 30, tzinfo=UTC)
MORNING = datetime(2024, 5, 31, 9, 10, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


# In the afternoon the part of a window's first day after its start is counted; in the
# morning, the whole day less the part before the start (the shorter side is read).
@pytest.mark.parametrize("now", [NOW, MORNING], ids=["afternoon", "morning"])
async def test_windows_count_exactly_at_their_edges(service: ResultsService, now: datetime) -> None:
    def ago(**delta: float) -> datetime:
        return now - timedelta(**delta)

    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.create("silent", allowed_projects=["*"])
    reported = [
        (ago(minutes=5), ResultValue.PASSED),
        (ago(hours=23, minutes=59), ResultValue.FAILED),  # inside 24 h, on yesterday
        (ago(hours=24, minutes=1), ResultValue.PASSED),  # just outside 24 h
        (ago(days=6, hours=23), ResultValue.UNSTABLE),
        (ago(days=7, minutes=1), ResultValue.PASSED),
        (ago(days=29, hours=23, minutes=59), ResultValue.IN_PROGRESS),
        (ago(days=30, seconds=1), ResultValue.FAILED),  # outside every window
        # On each window's first day, just before its start: in the longer windows only.
        (ago(hours=24, seconds=30), ResultValue.SKIPPED),
        (ago(days=7, seconds=30), ResultValue.SKIPPED),
        (ago(days=30, minutes=2), ResultValue.SKIPPED),
    ]
    await service.report(
        "a", [new_result(value=value, reported_at=when) for when, value in reported], now=now
    )
    stats = {s.account: s for s in await service.statistics(now=now)}
    assert set(stats) == {"a", "silent"}
    windows = stats["a"].windows
    assert windows["24h"].counts == {ResultValue.PASSED: 1, ResultValue.FAILED: 1}
    assert windows["7d"].counts == {
        ResultValue.PASSED: 2,
        ResultValue.FAILED: 1,
        ResultValue.UNSTABLE: 1,
        ResultValue.SKIPPED: 1,
    }
    assert windows["30d"].counts == {
        ResultValue.PASSED: 3,
        ResultValue.FAILED: 1,
        ResultValue.UNSTABLE: 1,
        ResultValue.IN_PROGRESS: 1,
        ResultValue.SKIPPED: 2,
    }
    assert windows["24h"].success_rate == 0.5
    assert windows["30d"].success_rate == 3 / 5  # in progress does not count
    assert stats["a"].last_seen == ago(minutes=5)
    assert stats["a"].last_success == ago(minutes=5)
    assert stats["silent"].windows["30d"].total == 0
    assert stats["silent"].windows["30d"].success_rate is None
    assert stats["silent"].last_seen is None


async def test_last_seen_never_moves_back(service: ResultsService) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.report("a", [new_result(reported_at=ago(hours=1))], now=NOW)
    await service.report(
        "a", [new_result(value=ResultValue.FAILED, reported_at=ago(hours=2))], now=NOW
    )
    await service.report(
        "a", [new_result(value=ResultValue.PASSED, reported_at=ago(days=3))], now=NOW
    )
    one = await service.account_statistics("a", now=NOW)
    assert one.last_seen == ago(hours=1)
    assert one.last_success == ago(hours=1)
    assert one.windows["7d"].count(ResultValue.PASSED) == 2


async def test_counts_add_up_across_batches_and_accounts(service: ResultsService) -> None:
    await service.accounts.create("a", allowed_projects=["*"])
    await service.accounts.create("b", allowed_projects=["*"])
    for _ in range(3):
        await service.report("a", [new_result(reported_at=ago(hours=2))] * 4, now=NOW)
    await service.report("b", [new_result(value=ResultValue.FAILED, reported_at=ago(hours=2))])
    stats = {s.account: s for s in await service.statistics(now=NOW)}
    assert stats["a"].windows["24h"].counts == {ResultValue.PASSED: 12}
    assert stats["b"].windows["24h"].counts == {ResultValue.FAILED: 1}
