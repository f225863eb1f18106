"""GET /metrics: the Prometheus text format, public like Zuul's status page.

The metrics say how busy the CI is and whether it reaches Gerrit; they hold no
change, user or secret. A server may refresh gauges from its store before each
scrape (`before_scrape`); when that fails, the scrape still answers with the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)


def metrics_router(before_scrape: Callable[[], Awaitable[None]] | None = None) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        if before_scrape is not None:
            try:
                await before_scrape()
            except Exception:  # the other metrics still tell something
                log.exception("metrics: reading the queue depths from the store failed")
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
