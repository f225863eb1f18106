"""The promotion pages: the board, a scenario's timeline, a candidate's evidence.

    /promotion                          scenarios x levels     /api/v1/scenarios
    /promotion/scenarios/{scenario}     timeline and history   /api/v1/scenarios/{s}/promotions
    /promotion/candidates/{candidate}   components, evidence   /api/v1/candidates/{c}/results

Public reads only, as the results pages; every value is escaped by the templates and
no script may run (web/rendering.py's headers).
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures.

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.scenario import Scenario
from crosscheck.promotion.board import TIMELINE, board, candidate_page, scenario_page
from crosscheck.store import promotion as store
from crosscheck.web.rendering import Renderer
from crosscheck.web.views import safe_url

#: A candidate's whole id: 64 hex digits.
FULL_ID = 64
CandidatePath = Annotated[
    str, Path(pattern="^[0-9a-f]{7,64}$", description="A candidate's id, or its first 7+ digits")
]


def promotion_pages(
    engine: AsyncEngine, scenarios: Callable[[], Mapping[str, Scenario]], prefix: str = ""
) -> APIRouter:
    router = APIRouter(prefix="/promotion", tags=["pages"], include_in_schema=False)
    renderer = Renderer(prefix, templates_of="crosscheck.promotion")
    renderer.globals.update(safe_url=safe_url, timeline_days=TIMELINE.days)

    @router.get("", response_class=HTMLResponse)
    async def board_page() -> HTMLResponse:
        now = datetime.now(UTC)
        async with engine.connect() as db:
            rows = await board(db, scenarios().values(), now)
        return renderer.page("board.html", f"{prefix}/api/v1/scenarios", rows=rows, now=now)

    @router.get("/scenarios/{name}", response_class=HTMLResponse)
    async def timeline_page(name: str) -> HTMLResponse:
        json_url = f"{prefix}/api/v1/scenarios/{name}/promotions"
        scenario = scenarios().get(name)
        if scenario is None:
            return renderer.not_found(f"no scenario {name!r}", json_url)
        async with engine.connect() as db:
            page = await scenario_page(db, scenario, datetime.now(UTC))
        return renderer.page("scenario.html", json_url, page=page)

    @router.get("/candidates/{candidate}", response_class=HTMLResponse)
    async def candidate(candidate: CandidatePath) -> Response:
        json_url = f"{prefix}/api/v1/candidates/{candidate}/results"
        if len(candidate) < FULL_ID:
            # A report's line names a candidate by its first 12 digits: go to the whole id.
            async with engine.connect() as db:
                found = await store.candidates_starting(db, None, candidate)
            if len(found) == 1:
                return RedirectResponse(f"{prefix}/promotion/candidates/{found[0].id}")
            why = "is ambiguous: give more digits" if found else "names no candidate"
            return renderer.not_found(f"{candidate} {why}", json_url)
        async with engine.connect() as db:
            page = await candidate_page(db, candidate, dict(scenarios()))
        if page is None:
            return renderer.not_found(f"no candidate {candidate}", json_url)
        return renderer.page("candidate.html", json_url, page=page)

    return router
