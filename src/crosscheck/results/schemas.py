"""The native REST API's bodies (pydantic): what a CI sends and what readers get."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from crosscheck.model.promotion import CandidateResult, NewCandidateResult
from crosscheck.model.results import (
    AccountStatistics,
    CIAccount,
    NewResult,
    Result,
    ResultValue,
    SshKey,
    WindowCounts,
    format_duration,
    parse_duration,
)
from crosscheck.results.service import MAX_BATCH

#: Gerrit numbers changes and patchsets with Java ints: nothing above this exists there.
MAX_GERRIT_INT = 2**31 - 1
#: A result's duration: under a year, as the service checks (model/results.py).
MAX_DURATION = 366 * 86400

ChangeNumber = Annotated[int, Field(ge=1, le=MAX_GERRIT_INT, examples=[123456])]
PatchsetNumber = Annotated[int, Field(ge=1, le=MAX_GERRIT_INT, examples=[3])]


class _In(BaseModel):
    # A misspelt field is an error naming it, never silently dropped.
    model_config = ConfigDict(extra="forbid")


class _Outcome(_In):
    """What a CI may write of a value and a duration: `SUCCESS`, `1h 2m 3s`..."""

    @field_validator("value", mode="before", check_fields=False)
    @classmethod
    def _value(cls, raw: Any) -> Any:
        return ResultValue.parse(raw) if isinstance(raw, str) else raw

    @field_validator("duration", mode="before", check_fields=False)
    @classmethod
    def _duration(cls, raw: Any) -> Any:
        return parse_duration(raw) if isinstance(raw, str) else raw


class ResultIn(_Outcome):
    """One job's result on one patchset."""

    project: str = Field(examples=["openstack/nova"])
    change: ChangeNumber
    patchset: PatchsetNumber
    job: str = Field(examples=["tempest-full"])
    value: ResultValue = Field(
        description="passed, failed, unstable, in_progress, skipped or not_registered "
        "(SUCCESS, FAILURE and `in progress` are understood too)"
    )
    ci: str | None = Field(
        None, description="The reporting CI account; when given it must be the caller's"
    )
    branch: str | None = None
    revision: str | None = Field(None, description="The patchset's commit id (40 hex digits)")
    url: str | None = Field(None, description="Where the logs are (http or https)")
    duration: float | None = Field(
        None,
        ge=0,
        lt=MAX_DURATION,
        allow_inf_nan=False,
        description='Seconds (under a year), or text such as "1h 2m 3s" or "1 min 30 sec"',
    )
    voting: bool = Field(True, description="False for a non-voting job")
    category: str | None = None
    rerun: bool = False
    comment: str | None = None
    reported_at: AwareDatetime | None = Field(None, description="Default: when received")

    def to_new(self) -> NewResult:
        return NewResult(**self.model_dump(exclude={"ci"}))


class BatchIn(_In):
    results: Annotated[list[ResultIn], Field(min_length=1, max_length=MAX_BATCH)]


class ResultFilters(_In):
    """Which of a change's results to return."""

    patchset: PatchsetNumber | None = Field(None, description="Only this patchset's (default: all)")
    ci: str | None = Field(None, description="Only this CI account's")
    job: str | None = Field(None, description="Only this job's")
    failed_only: bool = Field(False, description="Only failed ones (after choosing current)")
    history: bool = Field(False, description="Every result, not only the newest per CI and job")


class ResultOut(BaseModel):
    id: str = Field(description="The result's public id")
    ci: str
    project: str
    branch: str | None
    change: int
    patchset: int
    revision: str | None
    job: str
    value: ResultValue
    url: str | None
    duration: float | None
    duration_text: str | None
    voting: bool
    category: str | None
    rerun: bool
    comment: str | None
    reported_at: datetime

    @classmethod
    def of(cls, result: Result) -> ResultOut:
        return cls(
            id=result.uuid,
            ci=result.account,
            project=result.project,
            branch=result.branch,
            change=result.change,
            patchset=result.patchset,
            revision=result.revision,
            job=result.job,
            value=result.value,
            url=result.url,
            duration=result.duration,
            duration_text=None if result.duration is None else format_duration(result.duration),
            voting=result.voting,
            category=result.category,
            rerun=result.rerun,
            comment=result.comment,
            reported_at=result.reported_at,
        )


class ResultsOut(BaseModel):
    results: list[ResultOut]

    @classmethod
    def of(cls, results: list[Result]) -> ResultsOut:
        return cls(results=[ResultOut.of(r) for r in results])


class WindowOut(BaseModel):
    total: int = Field(description="results that ended: every value but in_progress")
    counts: dict[ResultValue, int]
    success_rate: float | None = Field(description="passed / (passed + failed + unstable)")

    @classmethod
    def of(cls, window: WindowCounts) -> WindowOut:
        return cls(total=window.total, counts=dict(window.counts), success_rate=window.success_rate)


class StatisticsOut(BaseModel):
    ci: str
    enabled: bool
    last_seen: datetime | None
    last_success: datetime | None
    windows: dict[str, WindowOut] = Field(description="By window: 24h, 7d, 30d")

    @classmethod
    def of(cls, stats: AccountStatistics) -> StatisticsOut:
        return cls(
            ci=stats.account,
            enabled=stats.enabled,
            last_seen=stats.last_seen,
            last_success=stats.last_success,
            windows={name: WindowOut.of(w) for name, w in stats.windows.items()},
        )


class AllStatisticsOut(BaseModel):
    accounts: list[StatisticsOut]


class AccountIn(_In):
    name: str = Field(examples=["Acme Storage CI"])
    owner: str = Field("", examples=["Acme storage team"])
    info_url: str = ""
    driver: str = Field(
        "", description="The product or driver it tests", examples=["Acme FlashArray driver"]
    )
    contact: str = Field(
        "", description="An email address or an http(s) URL", examples=["ci-team@acme.example"]
    )
    allowed_projects: list[str] = Field(
        default_factory=list,
        description="Globs (openstack/*) or regexes (starting with ^) of writable projects",
    )
    admin: bool = False


class AccountChangeIn(_In):
    owner: str | None = None
    info_url: str | None = None
    driver: str | None = None
    contact: str | None = None
    allowed_projects: list[str] | None = None


class DisableIn(_In):
    reason: str = ""


class SshKeyIn(_In):
    key: str = Field(description="One line of an OpenSSH .pub file")


class AccountOut(BaseModel):
    name: str
    owner: str
    info_url: str
    driver: str
    contact: str
    enabled: bool
    admin: bool
    allowed_projects: list[str]
    disabled_reason: str
    created_at: datetime | None
    last_seen: datetime | None
    last_success: datetime | None

    @classmethod
    def of(cls, account: CIAccount) -> AccountOut:
        return cls(
            name=account.name,
            owner=account.owner,
            info_url=account.info_url,
            driver=account.driver,
            contact=account.contact,
            enabled=account.enabled,
            admin=account.admin,
            allowed_projects=list(account.allowed_projects),
            disabled_reason=account.disabled_reason,
            created_at=account.created_at,
            last_seen=account.last_seen,
            last_success=account.last_success,
        )


class AccountsOut(BaseModel):
    accounts: list[AccountOut]


class TokenOut(BaseModel):
    account: AccountOut
    token: str = Field(description="Shown this once; only its hash is kept")


class SshKeyOut(BaseModel):
    algorithm: str
    fingerprint: str
    comment: str
    added_at: datetime | None

    @classmethod
    def of(cls, key: SshKey) -> SshKeyOut:
        return cls(
            algorithm=key.algorithm,
            fingerprint=key.fingerprint,
            comment=key.comment,
            added_at=key.added_at,
        )


# -- results on promotion candidates ----------------------------------------


class CandidateResultIn(_Outcome):
    """One job's result on a candidate."""

    job: str = Field(examples=["functest-smoke"])
    value: ResultValue = Field(description="passed, failed, unstable, in_progress, skipped...")
    ci: str | None = Field(None, description="The reporting CI account; if given, the caller's")
    url: str | None = Field(None, description="Where the logs are (http or https)")
    duration: float | None = Field(None, ge=0, lt=MAX_DURATION, allow_inf_nan=False)
    comment: str | None = None
    reported_at: AwareDatetime | None = Field(None, description="Default: when received")

    def to_new(self, candidate: str) -> NewCandidateResult:
        return NewCandidateResult(candidate=candidate, **self.model_dump(exclude={"ci"}))


class CandidateBatchIn(_In):
    results: Annotated[list[CandidateResultIn], Field(min_length=1, max_length=MAX_BATCH)]


class CandidateResultOut(BaseModel):
    id: int
    candidate: str
    ci: str
    job: str
    value: ResultValue
    url: str | None
    duration: float | None
    duration_text: str | None
    comment: str | None
    reported_at: datetime

    @classmethod
    def of(cls, result: CandidateResult) -> CandidateResultOut:
        return cls(
            id=result.id,
            candidate=result.candidate,
            ci=result.account,
            job=result.job,
            value=result.value,
            url=result.url,
            duration=result.duration,
            duration_text=None if result.duration is None else format_duration(result.duration),
            comment=result.comment,
            reported_at=result.reported_at,
        )


class CandidateResultsOut(BaseModel):
    results: list[CandidateResultOut]
