"""Results on candidates under /api/v1/candidates: a CI reports on a scenario's versions."""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from crosscheck.model.results import CIAccount
from crosscheck.results.api import PREFIX, refusals
from crosscheck.results.auth import AuthDependencies, Caller
from crosscheck.results.schemas import CandidateBatchIn, CandidateResultOut, CandidateResultsOut
from crosscheck.results.service import ResultsService

CandidatePath = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="The candidate's id (64 hex digits)")
]


def candidate_results_router(service: ResultsService, auth: AuthDependencies) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["candidates"], route_class=auth.guarded_route)
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
