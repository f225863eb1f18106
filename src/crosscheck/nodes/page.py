"""/nodes: every node and the autohold requests, as `GET /api/v1/nodes` gives them.

Public, as that API is; every value is escaped by the template (a hold's reason is
anyone-with-the-token's text) and no script may run (web/rendering.py's headers).
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures.

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from crosscheck.executor.pool import NodePool
from crosscheck.nodes.operations import overview
from crosscheck.nodes.spans import span
from crosscheck.web.rendering import Renderer


def nodes_page(pool: NodePool, prefix: str = "") -> APIRouter:
    router = APIRouter(tags=["pages"], include_in_schema=False)
    renderer = Renderer(prefix, templates_of="crosscheck.nodes")
    renderer.filters.update(span=span)

    @router.get("/nodes", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        shown = await overview(pool)
        return renderer.page(
            "nodes.html",
            f"{prefix}/api/v1/nodes",
            nodes=shown.nodes,
            autoholds=shown.autoholds,
            now=datetime.now(UTC),
        )

    return router
