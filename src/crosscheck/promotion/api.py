"""Promotion under /api/v1: levels' pointers, candidates, history, explanations, approvals.

Reads follow the results service's rule (public, or a token); an approval is a write by
a results service account that the level names among its approvers.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.promotion import LevelPointer, PromotionRecord
from crosscheck.model.results import CIAccount
from crosscheck.model.scenario import Scenario
from crosscheck.promotion.explain import ExplainError, explain
from crosscheck.results.api import PREFIX, refusals
from crosscheck.results.auth import AuthDependencies, Caller
from crosscheck.results.errors import (
    InvalidInputError,
    NotAllowedError,
    UnknownCandidateError,
)
from crosscheck.store import evidence
from crosscheck.store import promotion as store
from crosscheck.store import releases as release_store

CandidatePath = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="The candidate's id (64 hex digits)")
]


class PointerOut(BaseModel):
    scenario: str
    level: str
    candidate: str | None = Field(description="The candidate the level holds; null: none yet")
    versions: dict[str, str] | None = None
    moved_at: datetime | None = None
    generation: int = 0


class ScenarioOut(BaseModel):
    name: str
    description: str
    components: list[str]
    levels: list[PointerOut]
    channels: dict[str, str] = Field(description="Release channel -> the level it qualifies from")


class ScenariosOut(BaseModel):
    scenarios: list[ScenarioOut]


class CandidateOut(BaseModel):
    id: str
    scenario: str
    versions: dict[str, str]
    origin: str
    created_at: datetime
    reached: dict[str, datetime] = Field(description="Level -> when the rules promoted it there")


class PromotionOut(BaseModel):
    id: int
    scenario: str
    level: str
    kind: str
    candidate: str | None
    previous: str | None
    at: datetime
    by: str
    reason: str
    evidence: dict[str, list[int]]
    generation: int

    @classmethod
    def of(cls, record: PromotionRecord) -> "PromotionOut":
        return cls(
            id=record.id,
            scenario=record.scenario,
            level=record.level,
            kind=record.kind.value,
            candidate=record.candidate,
            previous=record.previous,
            at=record.at,
            by=record.by,
            reason=record.reason,
            evidence={name: list(ids) for name, ids in record.evidence.items()},
            generation=record.generation,
        )


class PromotionsOut(BaseModel):
    promotions: list[PromotionOut]


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: str = Field(examples=["release"])
    comment: str = Field("", max_length=2000)


class ApprovalOut(BaseModel):
    candidate: str
    level: str
    account: str
    recorded: bool = Field(description="False: this account had approved it already")


class CriterionOut(BaseModel):
    criterion: str
    kind: str
    state: str
    result_ids: list[int]
    approvers: list[str]


class ExplanationOut(BaseModel):
    scenario: str
    level: str
    holds: str | None
    candidate: str | None
    promoted_at: datetime | None
    promotable: bool
    criteria: list[CriterionOut]


class ReleasesOut(BaseModel):
    releases: list[dict[str, Any]] = Field(description="Each release's manifest, newest first")


def promotion_router(
    engine: AsyncEngine,
    scenarios: Callable[[], Mapping[str, Scenario]],
    auth: AuthDependencies,
    on_evidence: Callable[[set[str]], None],
) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["promotion"], route_class=auth.guarded_route)
    Reader = Annotated[Caller, Depends(auth.reader)]  # noqa: N806 -- a type alias
    Reporter = Annotated[CIAccount, Depends(auth.reporter)]  # noqa: N806

    def scenario_named(name: str) -> Scenario:
        return _scenario(scenarios, name)

    @router.get("/scenarios", summary="Every scenario, with the candidate each level holds")
    async def list_scenarios(_: Reader) -> ScenariosOut:
        shown = []
        async with engine.connect() as db:
            for scenario in sorted(scenarios().values(), key=lambda s: s.name):
                held = await store.pointers(db, scenario.name)
                shown.append(_scenario_out(scenario, held))
        return ScenariosOut(scenarios=shown)

    @router.get(
        "/scenarios/{scenario}/levels/{level}",
        summary="The candidate a level holds now, with its versions (DLRN's current-tripleo)",
    )
    async def get_pointer(scenario: str, level: str, _: Reader) -> PointerOut:
        async with refusals():
            found = scenario_named(scenario)
            _level(found, level)
            async with engine.connect() as db:
                held = await store.pointer(db, scenario, level)
                record = await store.candidate(db, held.candidate) if held is not None else None
        return _pointer_out(scenario, level, held, record)

    @router.get("/scenarios/{scenario}/promotions", summary="A scenario's moves, newest first")
    async def get_history(
        scenario: str,
        _: Reader,
        level: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> PromotionsOut:
        async with refusals():
            scenario_named(scenario)
            async with engine.connect() as db:
                found = await store.history(db, scenario, level, limit)
        return PromotionsOut(promotions=[PromotionOut.of(r) for r in found])

    @router.get(
        "/scenarios/{scenario}/levels/{level}/explain",
        summary="Per criterion, what passed, what is missing and what failed",
    )
    async def get_explanation(
        scenario: str, level: str, _: Reader, candidate: str | None = None
    ) -> ExplanationOut:
        async with refusals():
            found = scenario_named(scenario)
            try:
                async with engine.connect() as db:
                    shown = await explain(db, found, level, candidate, datetime.now(UTC))
            except ExplainError as error:
                raise UnknownCandidateError(str(error)) from error
        verdict = shown.verdict
        return ExplanationOut(
            scenario=scenario,
            level=level,
            holds=shown.holds.candidate if shown.holds is not None else None,
            candidate=shown.candidate.id if shown.candidate is not None else None,
            promoted_at=shown.promoted_at,
            promotable=verdict.promotable if verdict is not None else False,
            criteria=[
                CriterionOut(
                    criterion=c.criterion,
                    kind=c.kind.value,
                    state=c.state.value,
                    result_ids=list(c.result_ids),
                    approvers=list(c.approvers),
                )
                for c in (verdict.criteria if verdict is not None else ())
            ],
        )

    @router.get("/candidates/{candidate}", summary="A candidate: its versions and levels reached")
    async def get_candidate(candidate: CandidatePath, _: Reader) -> CandidateOut:
        async with refusals(), engine.connect() as db:
            record = await store.candidate(db, candidate)
            if record is None:
                raise UnknownCandidateError(f"no candidate {candidate}")
            reached = await store.promoted_levels(db, candidate)
        return CandidateOut(
            id=record.id,
            scenario=record.candidate.scenario,
            versions=dict(record.candidate.versions),
            origin=record.origin,
            created_at=record.created_at,
            reached=reached,
        )

    @router.post(
        "/candidates/{candidate}/approvals",
        status_code=status.HTTP_201_CREATED,
        summary="Approve a candidate for a level, as one of the accounts the level names",
    )
    async def post_approval(
        candidate: CandidatePath, body: ApprovalIn, account: Reporter
    ) -> ApprovalOut:
        async with refusals(), engine.begin() as db:
            record = await store.candidate(db, candidate)
            if record is None:
                raise UnknownCandidateError(f"no candidate {candidate}")
            _check_approver(scenario_named(record.candidate.scenario), body.level, account)
            recorded = await evidence.approve(
                db,
                candidate,
                body.level,
                account=account.name,
                at=datetime.now(UTC),
                comment=body.comment,
            )
        on_evidence({candidate})
        return ApprovalOut(
            candidate=candidate, level=body.level, account=account.name, recorded=recorded
        )

    return router


def releases_router(
    engine: AsyncEngine,
    scenarios: Callable[[], Mapping[str, Scenario]],
    auth: AuthDependencies,
) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["promotion"])
    Reader = Annotated[Caller, Depends(auth.reader)]  # noqa: N806 -- a type alias

    def scenario_named(name: str) -> Scenario:
        return _scenario(scenarios, name)

    @router.get("/scenarios/{scenario}/releases", summary="A scenario's releases, newest first")
    async def get_releases(
        scenario: str, _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> ReleasesOut:
        async with refusals():
            scenario_named(scenario)
            async with engine.connect() as db:
                found = await release_store.scenario_releases(db, scenario, limit)
        return ReleasesOut(releases=[r.manifest() for r in found])

    @router.get(
        "/scenarios/{scenario}/releases/{name}",
        summary="One release's manifest: every component's pinned version and tag",
    )
    async def get_release(scenario: str, name: str, _: Reader) -> dict[str, Any]:
        async with refusals():
            scenario_named(scenario)
            async with engine.connect() as db:
                found = await release_store.release_named(db, scenario, name)
            if found is None:
                raise UnknownCandidateError(f"{scenario} has no release {name!r}")
        return found.manifest()

    return router


def _scenario(scenarios: Callable[[], Mapping[str, Scenario]], name: str) -> Scenario:
    found = scenarios().get(name)
    if found is None:
        raise UnknownCandidateError(f"no scenario {name!r}")
    return found


def _level(scenario: Scenario, level: str) -> None:
    if level not in {lv.name for lv in scenario.levels}:
        names = ", ".join(lv.name for lv in scenario.levels)
        raise UnknownCandidateError(f"{scenario.name} has no level {level!r} (levels: {names})")


def _check_approver(scenario: Scenario, level: str, account: CIAccount) -> None:
    names = [lv.name for lv in scenario.levels]
    if level not in names:
        raise InvalidInputError(
            [("level", f"{scenario.name} has no level {level!r} (levels: {', '.join(names)})")]
        )
    rule = scenario.level(level).approvals
    if rule is None:
        raise InvalidInputError([("level", f"{scenario.name} {level} takes no approvals")])
    if account.name not in rule.by:
        raise NotAllowedError(
            f"{account.name!r} may not approve {scenario.name} {level}: "
            f"its approvers are {', '.join(rule.by)}"
        )


def _scenario_out(scenario: Scenario, held: Mapping[str, LevelPointer]) -> ScenarioOut:
    return ScenarioOut(
        name=scenario.name,
        description=scenario.description,
        components=[c.name for c in scenario.components],
        levels=[
            _pointer_out(scenario.name, level.name, held.get(level.name), None)
            for level in scenario.levels
        ],
        channels={c.name: c.level for c in scenario.channels},
    )


def _pointer_out(
    scenario: str, level: str, held: LevelPointer | None, record: CandidateRecord | None
) -> PointerOut:
    fields: dict[str, Any] = {"scenario": scenario, "level": level, "candidate": None}
    if held is not None:
        fields |= {
            "candidate": held.candidate,
            "moved_at": held.moved_at,
            "generation": held.generation,
        }
    if record is not None:
        fields["versions"] = dict(record.candidate.versions)
    return PointerOut(**fields)
