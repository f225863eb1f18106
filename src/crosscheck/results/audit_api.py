"""GET /api/v1/audit: the audit trail, for admins, newest first, a page at a time."""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from crosscheck.model.results import AuditAction, AuditEvent
from crosscheck.results.audit import audit_trail
from crosscheck.results.auth import AuthDependencies
from crosscheck.results.service import ResultsService


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="admin token, CI account NAME, cli (USER), backfill, serve")
    action: AuditAction
    account: str = Field(description="The CI account acted on")
    detail: str

    @classmethod
    def of(cls, event: AuditEvent) -> Self:
        return cls(
            id=event.id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            account=event.account,
            detail=event.detail,
        )


class AuditOut(BaseModel):
    events: list[AuditEventOut]
    next_page: int | None = Field(description="Pass as `before` for the next page; null: none")


def audit_router(service: ResultsService, auth: AuthDependencies) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1",
        tags=["accounts (admin)"],
        dependencies=[Depends(auth.admin)],
        route_class=auth.guarded_route,
    )

    @router.get("/audit", summary="Admins' actions on CI accounts, newest first")
    async def audit(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[
            int | None, Query(ge=1, le=2**63 - 1, description="Page: events older than this id")
        ] = None,
        account: Annotated[
            str | None, Query(max_length=100, description="Only this CI account's")
        ] = None,
    ) -> AuditOut:
        found = await audit_trail(service.engine, limit=limit, before=before, account=account)
        next_page = found[-1].id if len(found) == limit else None
        return AuditOut(events=[AuditEventOut.of(e) for e in found], next_page=next_page)

    return router
