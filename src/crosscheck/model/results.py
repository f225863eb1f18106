"""Results as the results service keeps them: one job's outcome on one patchset from one CI account.

Plain data and rules only: what a value means, which result is current, how a
duration is written, which projects a CI account may write to, and the checks a
submitted result must pass (each problem names its field).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from crosscheck.model.account_text import CONTROL, WEB_ADDRESS, project_allowed

MAX_PROJECT = 300
MAX_BRANCH = 300
MAX_JOB = 200
MAX_CATEGORY = 100
MAX_URL = 2000
MAX_COMMENT = 10_000
MAX_OWNER = 200
#: The product or driver a CI tests (`Acme FlashArray Cinder driver`), plain text.
MAX_DRIVER = 200
MAX_DISABLED_REASON = 500

REVISION = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class ResultValue(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNSTABLE = "unstable"
    IN_PROGRESS = "in_progress"
    SKIPPED = "skipped"
    NOT_REGISTERED = "not_registered"

    @classmethod
    def parse(cls, text: str) -> ResultValue:
        """A value as people write it: `passed`, `in progress`, `In-Progress`, `SUCCESS`..."""
        key = re.sub(r"[\s-]+", "_", text.strip().lower())
        value = _ALIASES.get(key)
        if value is None:
            choices = ", ".join(v.value for v in cls)
            raise ValueError(f"unknown result {text!r}: use one of {choices}")
        return value

    @property
    def final(self) -> bool:
        """Counts in success rates: the job ran to an end."""
        return self in (ResultValue.PASSED, ResultValue.FAILED, ResultValue.UNSTABLE)

    @property
    def counted(self) -> bool:
        """Counts as a result: everything but in_progress, which says a job started and
        is replaced by the result it ends with. Counting both, a CI that reports its
        jobs starting would show twice the results and runs it has."""
        return self is not ResultValue.IN_PROGRESS

    @property
    def verify_status(self) -> int:
        """The verify-status plugin's number; it has none for skipped or not registered (0)."""
        return _TO_VERIFY_STATUS.get(self, 0)

    @classmethod
    def from_verify_status(cls, number: int) -> ResultValue:
        """The plugin's numbers: below 0 failed, 0 unstable, 1 passed, 2 in progress."""
        if number < 0:
            return cls.FAILED
        found = {0: cls.UNSTABLE, 1: cls.PASSED, 2: cls.IN_PROGRESS}.get(number)
        if found is None:
            raise ValueError(
                f"value {number} has no meaning: use -1 (failed), 0 (unstable), "
                "1 (passed) or 2 (in progress)"
            )
        return found


_ALIASES: dict[str, ResultValue] = {v.value: v for v in ResultValue} | {
    "success": ResultValue.PASSED,
    "pass": ResultValue.PASSED,
    "failure": ResultValue.FAILED,
    "fail": ResultValue.FAILED,
    "running": ResultValue.IN_PROGRESS,
    # Buildbot's and the verify-status clients' words for a build that has not ended.
    "started": ResultValue.IN_PROGRESS,
    "pending": ResultValue.IN_PROGRESS,
}
#: The duration verify-status clients send for a build that has only started (Buildbot).
PENDING = "pending"


def verify_status_value(number: int, duration: str | None) -> ResultValue:
    """A verify-status value with its duration: Buildbot reports a build that has just
    started as 0 ("unstable" to the plugin) with the duration `pending`: in progress."""
    if number == 0 and is_pending(duration):
        return ResultValue.IN_PROGRESS
    return ResultValue.from_verify_status(number)


def is_pending(duration: str | None) -> bool:
    return duration is not None and duration.strip().lower() == PENDING


_TO_VERIFY_STATUS = {
    ResultValue.PASSED: 1,
    ResultValue.FAILED: -1,
    ResultValue.UNSTABLE: 0,
    ResultValue.IN_PROGRESS: 2,
}


@dataclass(frozen=True)
class NewResult:
    """A result as a CI submits it; the service adds the account, an id and the times."""

    project: str
    change: int
    patchset: int
    job: str
    value: ResultValue
    branch: str | None = None
    revision: str | None = None
    url: str | None = None
    #: Seconds.
    duration: float | None = None
    #: False for a non-voting job (the plugin's `abstain`).
    voting: bool = True
    category: str | None = None
    rerun: bool = False
    comment: str | None = None
    #: When the CI says the result was produced; None means now.
    reported_at: datetime | None = None


@dataclass(frozen=True)
class Result:
    """A stored result. `uuid` is its public id (the plugin's job id)."""

    id: int
    uuid: str
    account: str
    project: str
    change: int
    patchset: int
    job: str
    value: ResultValue
    reported_at: datetime
    branch: str | None = None
    revision: str | None = None
    url: str | None = None
    duration: float | None = None
    voting: bool = True
    category: str | None = None
    rerun: bool = False
    comment: str | None = None

    @property
    def current_key(self) -> tuple[int, int, str, str]:
        """Results with the same key replace each other: the newest is current."""
        return (self.change, self.patchset, self.account, self.job)

    @property
    def newness(self) -> tuple[datetime, int]:
        return (self.reported_at, self.id)


def runs_of(counted: int, newest: ResultValue | str) -> int:
    """A job's runs on a patchset from its reports: those `ResultValue.counted` keeps,
    and one more while the newest says it is running (a re-run started)."""
    return counted + (newest == ResultValue.IN_PROGRESS)


def current_results(results: Iterable[Result]) -> list[Result]:
    """The newest result per change, patchset, CI account and job, in the input's order."""
    listed = list(results)
    newest: dict[tuple[int, int, str, str], Result] = {}
    for result in listed:
        seen = newest.get(result.current_key)
        if seen is None or result.newness > seen.newness:
            newest[result.current_key] = result
    kept = {id(r) for r in newest.values()}
    return [r for r in listed if id(r) in kept]


#: How far ahead of the service's clock a CI's clock may be.
CLOCK_SKEW = timedelta(minutes=5)
#: Results reported as older than this are refused: they would fall outside every
#: statistics window at once and could rewrite history (`max_result_age`).
DEFAULT_MAX_RESULT_AGE = timedelta(days=7)


def result_problems(
    result: NewResult, now: datetime, *, max_age: timedelta | None = None
) -> list[tuple[str, str]]:
    """Every problem with a submitted result, as (field, message); empty when it is fine.

    `max_age` None accepts any past time (a backfill imports history on purpose).
    """
    problems: list[tuple[str, str]] = []
    problems += _text_problems("project", result.project, MAX_PROJECT, required=True)
    outcome = outcome_problems(result, now, max_age=max_age)
    # The job first, as a reader of the body meets it.
    problems += [p for p in outcome if p[0] == "job"]
    problems += _text_problems("branch", result.branch, MAX_BRANCH)
    problems += _text_problems("category", result.category, MAX_CATEGORY)
    if result.change < 1:
        problems.append(("change", "must be a change number, 1 or more"))
    if result.patchset < 1:
        problems.append(("patchset", "must be a patchset number, 1 or more"))
    if result.revision is not None and not REVISION.match(result.revision):
        problems.append(("revision", "must be a full commit id (40 lowercase hex digits)"))
    return problems + [p for p in outcome if p[0] != "job"]


class Outcome(Protocol):
    """What every result says of one job, on a patchset or on a candidate."""

    @property
    def job(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def reported_at(self) -> datetime | None: ...


def outcome_problems(
    result: Outcome, now: datetime, *, max_age: timedelta | None = None
) -> list[tuple[str, str]]:
    """The problems of a result's job, link, duration, comment and time."""
    problems = _text_problems("job", result.job, MAX_JOB, required=True)
    if result.url is not None:
        problems += _url_problems(result.url)
    if result.duration is not None and not 0 <= result.duration < 366 * 86400:
        problems.append(("duration", "must be between 0 and a year, in seconds"))
    if result.comment is not None and len(result.comment) > MAX_COMMENT:
        problems.append(("comment", f"is longer than {MAX_COMMENT} characters"))
    if result.reported_at is not None and result.reported_at.tzinfo is None:
        problems.append(("reported_at", "needs a time zone (for example 2024-05-01T12:00:00Z)"))
    elif result.reported_at is not None:
        problems += _time_problems(result.reported_at, now, max_age)
    return problems


def _time_problems(
    reported_at: datetime, now: datetime, max_age: timedelta | None
) -> list[tuple[str, str]]:
    if reported_at > now + CLOCK_SKEW:
        return [
            (
                "reported_at",
                f"is in the future ({_ahead(reported_at - now)} ahead, more than "
                f"{_ahead(CLOCK_SKEW)} of clock skew): check the CI's clock, or leave "
                "reported_at out to mean now",
            )
        ]
    if max_age is not None and reported_at < now - max_age:
        return [
            (
                "reported_at",
                f"is older than {_ahead(max_age)}, the oldest this service accepts: "
                "report results as they happen (or leave reported_at out to mean now); "
                "older history is imported with `crosscheck results backfill`",
            )
        ]
    return []


def _ahead(span: timedelta) -> str:
    """A span as people read it: `7 days`, `2h 5m`."""
    if span.days >= 2:  # noqa: PLR2004 -- "1 day 3h" reads better than "27h"
        return f"{span.days} days"
    return format_duration(span.total_seconds())


def _text_problems(
    name: str, value: str | None, limit: int, *, required: bool = False
) -> list[tuple[str, str]]:
    if value is None or value == "":
        return [(name, "is required")] if required else []
    if len(value) > limit:
        return [(name, f"is longer than {limit} characters")]
    if CONTROL.search(value) or value != value.strip():
        return [(name, "must not hold control characters or surrounding spaces")]
    return []


def _url_problems(url: str) -> list[tuple[str, str]]:
    if len(url) > MAX_URL:
        return [("url", f"is longer than {MAX_URL} characters")]
    # Pages render it as a link: only web addresses, never javascript: or data:.
    if not WEB_ADDRESS.match(url):
        return [("url", "must be an http:// or https:// address without spaces")]
    return []


# -- durations ---------------------------------------------------------------

_UNITS = {
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def parse_duration(text: str) -> float:
    """Seconds from `90`, `1m 30s`, `1h2m`, `1 min 30 sec` (Jenkins) or `2.5 sec`."""
    cleaned = text.strip().lower().replace(",", " ")
    if not cleaned:
        raise ValueError("empty duration")
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            break
        number, unit = match.groups()
        if unit not in _UNITS and unit != "":
            break
        total += float(number) * _UNITS.get(unit, 1)
        position = match.end()
    if cleaned[position:].strip() or position == 0:
        raise ValueError(f"cannot read duration {text!r}: write it as 1h 2m 3s or in seconds")
    return total


def format_duration(seconds: float) -> str:
    """`1h 2m 3s`, as the verify-status plugin shows durations."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts)


# -- CI accounts -------------------------------------------------------------


@dataclass(frozen=True)
class CIAccount:
    name: str
    owner: str = ""
    info_url: str = ""
    #: The product or driver it tests, as the health table names it.
    driver: str = ""
    #: An email address or an http(s) URL.
    contact: str = ""
    enabled: bool = True
    #: Admins manage accounts; an admin account reports like any other.
    admin: bool = False
    allowed_projects: tuple[str, ...] = ()
    disabled_reason: str = ""
    created_at: datetime | None = None
    last_seen: datetime | None = None
    last_success: datetime | None = None

    def may_write(self, project: str) -> bool:
        return project_allowed(self.allowed_projects, project)


@dataclass(frozen=True)
class SshKey:
    algorithm: str
    fingerprint: str
    comment: str = ""
    added_at: datetime | None = None


# -- statistics --------------------------------------------------------------

#: The health table's windows, by name.
WINDOWS: Mapping[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


@dataclass(frozen=True)
class WindowCounts:
    """Results per value over one window."""

    counts: Mapping[ResultValue, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Results that ended (`ResultValue.counted`): a job's in_progress report is
        not one more result beside its final one."""
        return sum(n for v, n in self.counts.items() if v.counted)

    def count(self, value: ResultValue) -> int:
        return self.counts.get(value, 0)

    @property
    def success_rate(self) -> float | None:
        """Passed over results that ran to an end; None when none did."""
        final = sum(n for v, n in self.counts.items() if v.final)
        return self.count(ResultValue.PASSED) / final if final else None


@dataclass(frozen=True)
class AccountStatistics:
    account: str
    windows: Mapping[str, WindowCounts]
    last_seen: datetime | None = None
    last_success: datetime | None = None
    enabled: bool = True


# -- audit -------------------------------------------------------------------


class AuditAction(StrEnum):
    """What an admin did to a CI account."""

    ACCOUNT_CREATED = "account_created"
    ACCOUNT_CHANGED = "account_changed"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    TOKEN_ROTATED = "token_rotated"  # noqa: S105 -- an action's name, not a secret
    SSH_KEY_ADDED = "ssh_key_added"


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    #: Who did it: `admin token`, `CI account NAME`, `cli (USER)`, `backfill`, `serve`.
    actor: str
    action: AuditAction
    account: str
    #: What changed, in words; never a token.
    detail: str = ""
