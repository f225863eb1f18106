"""Results on candidates under /api/v1/candidates: a CI reports on a scenario's versions."""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from crosscheck.model.promotion import CandidateResult, NewCandidateResult
from crosscheck.model.results import CIAccount, ResultValue, format_duration, parse_duration
from crosscheck.results.api import PREFIX, refusals
from crosscheck.results.auth import AuthDependencies, Caller
from crosscheck.results.schemas import MAX_DURATION
from crosscheck.results.service import MAX_BATCH, ResultsService

CandidatePath = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="The candidate's id (64 hex digits)")
]


class CandidateResultIn(BaseModel):
    """One job's result on a candidate."""

    model_config = ConfigDict(extra="forbid")

    job: str = Field(examples=["functest-smoke"])
    value: ResultValue = Field(description="passed, failed, unstable, in_progress, skipped...")
    ci: str | None = Field(None, description="The reporting CI account; if given, the caller's")
    url: str | None = Field(None, description="Where the logs are (http or https)")
    duration: float | None = Field(None, ge=0, lt=MAX_DURATION, allow_inf_nan=False)
    comment: str | None = None
    reported_at: AwareDatetime | None = Field(None, description="Default: when received")

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, raw: Any) -> Any:
        return ResultValue.parse(raw) if isinstance(raw, str) else raw

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, raw: Any) -> Any:
        return parse_duration(raw) if isinstance(raw, str) else raw

    def to_new(self, candidate: str) -> NewCandidateResult:
        return NewCandidateResult(candidate=candidate, **self.model_dump(exclude={"ci"}))


class CandidateBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
    def of(cls, result: CandidateResult) -> "CandidateResultOut":
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


def candidate_results_router(service: ResultsService, auth: AuthDependencies) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["candidates"])
    Reporter = Annotated[CIAccount, Depends(auth.reporter)]  # noqa: N806 -- a type alias
    Reader = Annotated[Caller, Depends(auth.reader)]  # noqa: N806

    @router.post(
        "/candidates/{candidate}/results",
        status_code=status.HTTP_201_CREATED,
        summary="Report one or many results on a candidate: all are stored, or none",
    )
    async def post_candidate_results(
        candidate: CandidatePath, body: CandidateBatchIn, account: Reporter
    ) -> CandidateResultsOut:
        async with refusals("results"):
            stored = await service.candidates.report(
                account.name,
                [item.to_new(candidate) for item in body.results],
                claimed=[item.ci for item in body.results],
                now=datetime.now(UTC),
            )
        return CandidateResultsOut(results=[CandidateResultOut.of(r) for r in stored])

    @router.get("/candidates/{candidate}/results", summary="Every result on a candidate")
    async def get_candidate_results(candidate: CandidatePath, _: Reader) -> CandidateResultsOut:
        async with refusals():
            found = await service.candidates.results(candidate)
        return CandidateResultsOut(results=[CandidateResultOut.of(r) for r in found])

    return router
