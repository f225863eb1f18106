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

from crosscheck.model.results import (
    AccountStatistics,
    CIAccount,
    Result,
    ResultValue,
    contact_link,
    current_results,
    format_duration,
)
from crosscheck.results.merges import MergedVotes
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
    #: Reports for this job on this patchset, the current one included.
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
    """The patchsets x CI accounts x jobs matrix of a change with at least one result."""
    runs = Counter(r.current_key for r in history)
    current = current_results(history)
    patchsets = sorted({r.patchset for r in history}, reverse=True)
    column = {patchset: index for index, patchset in enumerate(patchsets)}
    cells: dict[tuple[str, str], list[Cell | None]] = {}
    for result in current:
        row = cells.setdefault((result.account, result.job), [None] * len(patchsets))
        row[column[result.patchset]] = _cell(result, runs[result.current_key])
    latest = patchsets[0]
    reported = {r.account for r in current if r.patchset == latest}
    base = gerrit_change_url(gerrit_base, change)
    return ChangePage(
        change=change,
        project=history[-1].project,
        patchsets=patchsets,
        rows=[MatrixRow(a, j, c) for (a, j), c in sorted(cells.items())],
        latest_patchset=latest,
        expected=list(expected),
        missing=[name for name in expected if name not in reported],
        gerrit_url=base,
    )


def _cell(result: Result, runs: int) -> Cell:
    url = safe_url(result.url)
    return Cell(
        value=result.value,
        reported_at=result.reported_at,
        duration=None if result.duration is None else format_duration(result.duration),
        seconds=result.duration,
        url=url,
        unsafe_url=result.url if url is None else None,
        voting=result.voting,
        comment=result.comment,
        runs=runs,
    )


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


@dataclass(frozen=True)
class TrendDay:
    day: date
    passed: int
    #: Results that ran to an end (passed, failed, unstable); 0 on a quiet day.
    final: int


@dataclass(frozen=True)
class HealthExtras:
    """What the health table shows beyond the counts, fetched by the router."""

    account: CIAccount
    #: Every project it reported on over the window.
    projects: Sequence[str] = ()
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
    windows = stats.windows
    rate = windows[LOW_SUCCESS_WINDOW].success_rate
    silent = stats.enabled and (stats.last_seen is None or now - stats.last_seen > SILENT_AFTER)
    row = HealthRow(
        account=stats.account,
        enabled=stats.enabled,
        results_24h=windows["24h"].total,
        results_7d=windows["7d"].total,
        results_30d=windows["30d"].total,
        success_24h=windows["24h"].success_rate,
        success_7d=rate,
        success_30d=windows["30d"].success_rate,
        last_seen=stats.last_seen,
        last_success=stats.last_success,
        silent=silent,
        low_success=rate is not None and rate < LOW_SUCCESS,
    )
    return row if extras is None else _with_extras(row, extras)


def _with_extras(row: HealthRow, extras: HealthExtras) -> HealthRow:
    account, merged = extras.account, extras.merged
    return replace(
        row,
        driver=account.driver,
        owner=account.owner,
        contact=account.contact,
        contact_url=contact_link(account.contact),
        projects=sorted(extras.projects),
        project_count=len(extras.projects),
        merged_votes=merged.votes,
        merged_passed=merged.passed,
        merged_success=merged.success_rate,
        latest=_latest(extras.latest, extras.gerrit_base),
        trend=list(extras.trend),
    )


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
    rows: Sequence[HealthRow], now: datetime, query: HealthQuery, shown: Sequence[HealthRow]
) -> HealthPage:
    """`rows` every account's with all their projects (the filter sees them all), `shown`
    those the query keeps, in its order; the page lists a few projects of each."""
    return HealthPage(
        generated_at=now,
        silent_after_hours=int(SILENT_AFTER.total_seconds() // 3600),
        low_success_below=LOW_SUCCESS,
        trend_days=TREND_DAYS,
        query=query,
        total=len(rows),
        projects=sorted({p for row in rows for p in row.projects})[:PROJECT_SUGGESTIONS],
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
