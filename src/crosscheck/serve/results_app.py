"""The results service as a web app: its routers, the pages beside them when reads are
public, one error shape. Composed here, as results/ serves data and web/ its pages.

Private reads must not leak through the pages: a service whose reads need a token
mounts none (`results_and_pages`, for this app and for `crosscheck serve`'s).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from crosscheck import __version__
from crosscheck.http.access_log import AccessLog
from crosscheck.http.errors import install_error_handlers
from crosscheck.http.metrics_endpoint import metrics_router
from crosscheck.results.app import documented, results_routers
from crosscheck.results.resolver import ChangeResolver
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.web import PagesSettings, pages_router


def results_and_pages(
    service: ResultsService,
    settings: ResultsSettings,
    pages: PagesSettings | None = None,
    resolver: ChangeResolver | None = None,
) -> list[APIRouter]:
    """Every route of the results service, then the pages when reads are public. An app
    mounting them should also call `install_error_handlers(app)`."""
    routers = results_routers(service, settings, resolver)
    if settings.public_reads:
        routers.append(documented(pages_router(service, pages), 400, 404, 422))
    return routers


def create_results_app(
    service: ResultsService,
    settings: ResultsSettings | None = None,
    resolver: ChangeResolver | None = None,
    pages: PagesSettings | None = None,
) -> FastAPI:
    """The standalone results service; OpenAPI at /openapi.json, docs at /docs, Prometheus
    metrics at /metrics; every request logged (access_log.py)."""
    app = FastAPI(
        title="crosscheck results",
        version=__version__,
        description="CI results as structured data: report them, read them, see CI health.",
    )
    app.add_middleware(AccessLog)
    app.include_router(metrics_router())
    for router in results_and_pages(service, settings or ResultsSettings(), pages, resolver):
        app.include_router(router)
    install_error_handlers(app)
    return app
