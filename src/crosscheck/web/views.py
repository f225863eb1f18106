"""What each page shows, as plain data: the HTML templates and the JSON twins render the same.

No I/O here: the router fetches model objects, these functions shape them.
Every URL that reaches a view has passed `safe_url`, so a template may link it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter

from crosscheck.model.account_text import contact_link
from crosscheck.model.results import (
    AccountStatistics,
    CIAccount,
    Result,
    ResultValue,
    WindowCounts,
    current_results,
    format_duration,
    runs_of,
)
from crosscheck.results.merges import MergedVotes
from crosscheck.results.reads import ChangeResults, ChangeVersion, CurrentRun
from crosscheck.results.records import EPOCH

#: A CI account that reported nothing for this long is flagged silent.
SILENT_AFTER = timedelta(days=1)
#: A CI account passing less than this share of its final results over 7 days is flagged.
LOW_SUCCESS = 0.6
#: The window the low-success flag looks at: long enough that one bad hour does not flag.
LOW_SUCCESS_WINDOW = "7d"
#: Projects listed per CI account on the health table; `project_count` has them all.
LISTED_PROJECTS = 12
#: Project names the health table's filter suggests, at most.
PROJECT_SUGGESTIONS = 1000
#: The health table's trend, projects covered and merged-change votes look this far back.
TREND_DAYS = 30

_WEB_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$", re.IGNORECASE)


def safe_url(url: str | None) -> str | None:
    """The URL when a page may link it (http or https only), else None: never javascript:."""
    if url is None or not _WEB_URL.match(url):
        return None
    return url


def gerrit_change_url(gerrit_base: str | None, change: int) -> str | None:
    """Gerrit's page of a change, when the pages know Gerrit's (http or https) address."""
    if not gerrit_base:
        return None
    return safe_url(gerrit_base.rstrip("/") + f"/c/{change}")


# -- change page -------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """The current result of one job of one CI account on one patchset."""

    value: ResultValue
    reported_at: datetime
    #: As people read it (`3m 2s`); `seconds` holds the number.
    duration: str | None
    seconds: float | None
    url: str | None
    #: When the stored URL was refused as a link, the text to show instead.
    unsafe_url: str | None
    voting: bool
    comment: str | None
    #: Times this job ran on this patchset (`runs_of`).
    runs: int


@dataclass(frozen=True)
class MatrixRow:
    account: str
    job: str
    #: One per patchset of the page, in the page's order; None where it did not report.
    cells: list[Cell | None]


@dataclass(frozen=True)
class ChangePage:
    change: int
    project: str
    #: Newest first.
    patchsets: list[int]
    rows: list[MatrixRow]
    latest_patchset: int
    expected: list[str]
    #: Expected CI accounts without a result on the latest patchset.
    missing: list[str]
    gerrit_url: str | None


def change_page(
    change: int,
    history: Sequence[Result],
    expected: Sequence[str],
    gerrit_base: str | None = None,
) -> ChangePage:
    """The patchsets x CI accounts x jobs matrix of a change with at least one result,
    from its whole history (oldest first)."""
    counted = Counter(r.current_key for r in history if r.value.counted)
    found = ChangeResults(
        project=history[-1].project,
        current=[
            _current_run(r, runs_of(counted[r.current_key], r.value))
            for r in current_results(history)
        ],
        version=ChangeVersion(len(history), max(r.id for r in history)),
    )
    return page_of(change_document(change, found, expected, gerrit_base))


def _current_run(result: Result, runs: int) -> CurrentRun:
    return CurrentRun(
        id=result.id,
        account=result.account,
        job=result.job,
        patchset=result.patchset,
        value=result.value.value,
        reported_at=result.reported_at,
        duration=result.duration,
        url=result.url,
        voting=result.voting,
        comment=result.comment,
        runs=runs,
    )


def change_document(
    change: int,
    found: ChangeResults,
    expected: Sequence[str],
    gerrit_base: str | None = None,
) -> dict[str, Any]:
    """A `ChangePage` as plain data (dicts, lists, strings, datetimes), the JSON twin's
    content: serialised as it is, it skips a dataclass per cell and pydantic's walk over
    them, most of a big change's time."""
    current = found.current
    patchsets = sorted({run.patchset for run in current}, reverse=True)
    column = {patchset: index for index, patchset in enumerate(patchsets)}
    cells: dict[tuple[str, str], list[dict[str, Any] | None]] = {}
    for run in current:
        row = cells.get((run.account, run.job))
        if row is None:
            row = cells[(run.account, run.job)] = [None] * len(patchsets)
        row[column[run.patchset]] = _cell(run)
    latest = patchsets[0]
    reported = {run.account for run in current if run.patchset == latest}
    # Keys in ChangePage's field order, so both serialise to the same bytes.
    return {
        "change": change,
        "project": found.project,
        "patchsets": patchsets,
        "rows": [
            {"account": account, "job": job, "cells": row}
            for (account, job), row in sorted(cells.items(), key=_row_key)
        ],
        "latest_patchset": latest,
        "expected": list(expected),
        "missing": [name for name in expected if name not in reported],
        "gerrit_url": gerrit_change_url(gerrit_base, change),
    }


def _row_key(item: tuple[tuple[str, str], object]) -> tuple[str, str]:
    return item[0]


def _cell(run: CurrentRun) -> dict[str, Any]:
    """A `Cell` as plain data, keys in its field order."""
    url = safe_url(run.url)
    return {
        "value": run.value,
        "reported_at": run.reported_at,
        "duration": None if run.duration is None else _duration(round(run.duration)),
        "seconds": run.duration,
        "url": url,
        "unsafe_url": run.url if url is None else None,
        "voting": run.voting,
        "comment": run.comment,
        "runs": run.runs,
    }


#: `format_duration` rounds to whole seconds first: the same text per whole second, and
#: jobs of a change take similar times.
_duration = lru_cache(maxsize=4096)(format_duration)

_CHANGE_PAGE = TypeAdapter(ChangePage)


def page_of_json(body: bytes) -> ChangePage:
    """The `ChangePage` of the JSON twin's bytes, for the HTML page of a kept body."""
    return _CHANGE_PAGE.validate_json(body)


def page_of(document: dict[str, Any]) -> ChangePage:
    """The `ChangePage` of a `change_document`, for the HTML page."""
    return _CHANGE_PAGE.validate_python(document)


# -- health table ------------------------------------------------------------


@dataclass(frozen=True)
class LatestRun:
    """A CI account's newest result, as the health table links it."""

    project: str
    change: int
    patchset: int
    job: str
    value: ResultValue
    reported_at: datetime
    #: The result's own page (its logs), when it is an http(s) address.
    url: str | None
    #: Gerrit's page of the change, when the pages know Gerrit's address.
    gerrit_url: str | None


# Not frozen, slots: the health table makes 180 x 30 of these per request, and a frozen
# dataclass's __init__ (object.__setattr__ per field) took 2.5 times as long.
@dataclass(slots=True)
class TrendDay:
    day: date
    passed: int
    #: Results that ran to an end (passed, failed, unstable); 0 on a quiet day.
    final: int


@dataclass(frozen=True)
class HealthExtras:
    """What the health table shows beyond the counts, fetched by the router."""

    account: CIAccount
    #: Every project it reported on over the window (or the first few, by name, when
    #: `project_count` says how many).
    projects: Sequence[str] = ()
    #: How many projects it reported on; None: as many as `projects` holds.
    project_count: int | None = None
    merged: MergedVotes = field(default_factory=MergedVotes)
    latest: Result | None = None
    #: One per day of the trend window, oldest first.
    trend: Sequence[TrendDay] = ()
    gerrit_base: str | None = None


@dataclass(frozen=True)
class HealthRow:
    account: str
    enabled: bool
    results_24h: int
    results_7d: int
    results_30d: int
    #: Passed over final results, 0 to 1; None when nothing ran to an end.
    success_24h: float | None
    success_7d: float | None
    success_30d: float | None
    last_seen: datetime | None
    last_success: datetime | None
    #: Enabled and nothing reported for a day (or ever).
    silent: bool
    #: Below 60% success over 7 days.
    low_success: bool
    #: The product or driver it tests.
    driver: str = ""
    owner: str = ""
    contact: str = ""
    #: mailto: or http(s) link of `contact`; None when it is neither (never linked).
    contact_url: str | None = None
    #: Projects it reported on over the trend window, by name: the first
    #: `LISTED_PROJECTS` of them on a page (those matching its project filter first).
    projects: list[str] = field(default_factory=list)
    #: How many projects it reported on over the trend window.
    project_count: int = 0
    #: As Stackalytics counted: one vote per change merged in the trend window, on its
    #: merged patchset; passed when every current voting job that ended passed.
    merged_votes: int = 0
    merged_passed: int = 0
    merged_success: float | None = None
    latest: LatestRun | None = None
    trend: list[TrendDay] = field(default_factory=list)
    #: Why an admin disabled it, as they said; "" while it is enabled.
    disabled_reason: str = ""

    @property
    def flagged(self) -> bool:
        return self.silent or self.low_success


@dataclass(frozen=True)
class HealthQuery:
    """How the table is sorted and filtered, as the page's query string says."""

    sort: str = "status"
    order: str = "asc"
    #: Part of an account's name, driver or owner (any case); "" for every account.
    text: str = ""
    #: Part of a covered project's name (any case); "" for every account.
    project: str = ""
    flagged: bool = False


@dataclass(frozen=True)
class HealthPage:
    generated_at: datetime
    silent_after_hours: int
    low_success_below: float
    trend_days: int
    query: HealthQuery
    #: CI accounts before filtering.
    total: int
    #: Every project a CI reported on over the trend window: the filter's suggestions.
    projects: list[str]
    rows: list[HealthRow]


def health_row(
    stats: AccountStatistics, now: datetime, extras: HealthExtras | None = None
) -> HealthRow:
    (total_24h, rate_24h), (total_7d, rate), (total_30d, rate_30d) = (
        _figures(stats.windows[name]) for name in ("24h", LOW_SUCCESS_WINDOW, "30d")
    )
    silent = stats.enabled and (stats.last_seen is None or now - stats.last_seen > SILENT_AFTER)
    # One HealthRow per row, extras included: the table makes 180 of them per request.
    return HealthRow(
        account=stats.account,
        enabled=stats.enabled,
        results_24h=total_24h,
        results_7d=total_7d,
        results_30d=total_30d,
        success_24h=rate_24h,
        success_7d=rate,
        success_30d=rate_30d,
        last_seen=stats.last_seen,
        last_success=stats.last_success,
        silent=silent,
        low_success=rate is not None and rate < LOW_SUCCESS,
        **({} if extras is None else _extra_fields(extras)),
    )


#: The values `ResultValue.final` names, as a set (a property call per value was slower).
_FINAL = frozenset(value for value in ResultValue if value.final)
_COUNTED = frozenset(value for value in ResultValue if value.counted)


def _figures(window: WindowCounts) -> tuple[int, float | None]:
    """A window's results and success rate (`total`, `success_rate`) in one pass."""
    total = final = passed = 0
    for value, count in window.counts.items():
        if value in _COUNTED:
            total += count
        if value in _FINAL:
            final += count
            if value == ResultValue.PASSED:
                passed += count
    return total, passed / final if final else None


def _extra_fields(extras: HealthExtras) -> dict[str, Any]:
    account, merged = extras.account, extras.merged
    return {
        "driver": account.driver,
        "owner": account.owner,
        "contact": account.contact,
        "contact_url": contact_link(account.contact),
        "projects": sorted(extras.projects),
        "project_count": len(extras.projects)
        if extras.project_count is None
        else extras.project_count,
        "merged_votes": merged.votes,
        "merged_passed": merged.passed,
        "merged_success": merged.success_rate,
        "latest": _latest(extras.latest, extras.gerrit_base),
        "trend": list(extras.trend),
        "disabled_reason": "" if account.enabled else account.disabled_reason,
    }


def _latest(result: Result | None, gerrit_base: str | None) -> LatestRun | None:
    if result is None:
        return None
    return LatestRun(
        project=result.project,
        change=result.change,
        patchset=result.patchset,
        job=result.job,
        value=result.value,
        reported_at=result.reported_at,
        url=safe_url(result.url),
        gerrit_url=gerrit_change_url(gerrit_base, result.change),
    )


def health_page(
    rows: Sequence[HealthRow],
    now: datetime,
    query: HealthQuery,
    shown: Sequence[HealthRow],
    suggestions: Sequence[str] | None = None,
) -> HealthPage:
    """`rows` every account's with all their projects (the filter sees them all), `shown`
    those the query keeps, in its order; the page lists a few projects of each.
    `suggestions`: every project of the rows, when they hold only their first few."""
    if suggestions is None:
        suggestions = sorted({p for row in rows for p in row.projects})
    return HealthPage(
        generated_at=now,
        silent_after_hours=int(SILENT_AFTER.total_seconds() // 3600),
        low_success_below=LOW_SUCCESS,
        trend_days=TREND_DAYS,
        query=query,
        total=len(rows),
        projects=list(suggestions[:PROJECT_SUGGESTIONS]),
        rows=[_listed(row, query.project) for row in shown],
    )


def _listed(row: HealthRow, wanted: str) -> HealthRow:
    """A CI covering hundreds of projects lists a few; the count says the rest."""
    if len(row.projects) <= LISTED_PROJECTS:
        return row
    wanted = wanted.casefold()
    first = sorted(row.projects, key=lambda name: not wanted or wanted not in name.casefold())
    return replace(row, projects=first[:LISTED_PROJECTS])


# -- per-CI page -------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    uuid: str
    project: str
    change: int
    patchset: int
    job: str
    value: ResultValue
    reported_at: datetime
    duration: str | None
    seconds: float | None
    url: str | None
    unsafe_url: str | None
    voting: bool
    comment: str | None


@dataclass(frozen=True)
class DailyRate:
    day: date
    passed: int
    #: Results that ran to an end (passed, failed, unstable); never 0 in a view.
    final: int
    rate: float


@dataclass(frozen=True)
class AccountPage:
    account: str
    owner: str
    #: The product or driver it tests, and how to reach its operators (as on the table).
    driver: str
    contact: str
    contact_url: str | None
    info_url: str | None
    enabled: bool
    disabled_reason: str
    health: HealthRow
    history: list[HistoryEntry]
    #: The cursor of the next (older) history page, or None on the last page.
    next_page: str | None
    days: int
    daily: list[DailyRate]


def history_entry(result: Result) -> HistoryEntry:
    url = safe_url(result.url)
    return HistoryEntry(
        uuid=result.uuid,
        project=result.project,
        change=result.change,
        patchset=result.patchset,
        job=result.job,
        value=result.value,
        reported_at=result.reported_at,
        duration=None if result.duration is None else format_duration(result.duration),
        seconds=result.duration,
        url=url,
        unsafe_url=result.url if url is None else None,
        voting=result.voting,
        comment=result.comment,
    )


def date_of_day(day_number: int) -> date:
    """The UTC date of a day number (days since 1970-01-01)."""
    return (EPOCH + timedelta(days=day_number)).date()


def daily_rate(day_number: int, passed: int, final: int) -> DailyRate:
    return DailyRate(date_of_day(day_number), passed, final, passed / final)


def account_page(
    account: CIAccount,
    health: HealthRow,
    history: Sequence[Result],
    *,
    next_page: str | None,
    days: int,
    daily: Sequence[DailyRate],
) -> AccountPage:
    """The account's page; `health` is its row of the health table, as that shows it."""
    return AccountPage(
        account=account.name,
        owner=account.owner,
        driver=account.driver,
        contact=account.contact,
        contact_url=contact_link(account.contact),
        info_url=safe_url(account.info_url or None),
        enabled=account.enabled,
        disabled_reason=account.disabled_reason,
        health=_listed(health, ""),
        history=[history_entry(r) for r in history],
        next_page=next_page,
        days=days,
        daily=list(daily),
    )
