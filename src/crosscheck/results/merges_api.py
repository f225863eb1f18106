"""POST /api/v1/merges: which changes merged, at which patchset (admins).

For setups where neither the backfill nor serve's Gerrit stream sees merges: a
small job that follows Gerrit (or a webhook relay) posts them here. Idempotent:
posting a merge again replaces it with the same values.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field

from crosscheck.model.account_text import plain_text_problem
from crosscheck.model.results import MAX_PROJECT
from crosscheck.results.api import refusals
from crosscheck.results.auth import AuthDependencies
from crosscheck.results.errors import InvalidInputError
from crosscheck.results.merges import Merge, record_merge
from crosscheck.results.schemas import ChangeNumber, PatchsetNumber
from crosscheck.results.service import ResultsService

#: Clocks differ a little; a merge further in the future than this is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
MAX_MERGES = 1000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class MergeIn(BaseModel):
    change: ChangeNumber
    project: str = Field(min_length=1, max_length=MAX_PROJECT, examples=["openstack/nova"])
    patchset: PatchsetNumber = Field(description="The patchset that merged")
    merged_at: AwareDatetime = Field(examples=["2024-05-01T12:00:00Z"])

    def to_merge(self) -> Merge:
        return Merge(self.change, self.project, self.patchset, self.merged_at.astimezone(UTC))

    def merged_at_problem(self, now: datetime) -> str | None:
        # Year 1 at +01:00 has no UTC time: converting raises, so check before storing.
        try:
            moment = self.merged_at.astimezone(UTC)
        except OverflowError:
            moment = None
        if moment is None or moment < EARLIEST:
            return "is before 1970: send the time Gerrit merged the change"
        if moment > now + CLOCK_SKEW:
            return "is in the future"
        return None


class MergesIn(BaseModel):
    merges: list[MergeIn] = Field(min_length=1, max_length=MAX_MERGES)


class MergesOut(BaseModel):
    recorded: int


def merges_router(service: ResultsService, auth: AuthDependencies) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1",
        tags=["accounts (admin)"],
        dependencies=[Depends(auth.admin)],
        route_class=auth.guarded_route,
    )

    @router.post("/merges", summary="Record merged changes and the patchset each merged at")
    async def post_merges(body: MergesIn) -> MergesOut:
        async with refusals():
            _check(body.merges, datetime.now(UTC))
        async with service.engine.begin() as connection:
            # Sorted, so concurrent posts lock the same rows in the same order.
            for item in sorted(body.merges, key=lambda m: m.change):
                await record_merge(connection, item.to_merge())
        return MergesOut(recorded=len(body.merges))

    return router


def _check(merges: list[MergeIn], now: datetime) -> None:
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(merges):
        if problem := plain_text_problem(item.project, MAX_PROJECT):
            problems.append((f"merges[{index}].project", problem))
        if problem := item.merged_at_problem(now):
            problems.append((f"merges[{index}].merged_at", problem))
    if problems:
        raise InvalidInputError(problems)
