"""The results service as a web app: its routers, the pages beside them when reads are
public, the Checks tab plugin, one error shape. Composed here, as results/ serves data and
web/ its pages.

Private reads must not leak through the pages: a service whose reads need a token
mounts none (`results_and_pages`, for this app and for `crosscheck serve`'s).

Browsers may read from the Gerrit origins the pages' settings name, and only read: CORS
answers GET from those origins, with the Authorization header a read token travels in.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from crosscheck import __version__
from crosscheck.checks.router import plugin_router
from crosscheck.http.access_log import AccessLog
from crosscheck.http.body_limit import BodyLimit
from crosscheck.http.errors import install_error_handlers
from crosscheck.http.head_requests import HeadAsGet
from crosscheck.http.metrics_endpoint import metrics_router
from crosscheck.results.app import documented, results_routers
from crosscheck.results.checks_api import ChecksSettings
from crosscheck.results.resolver import ChangeResolver
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.web import PagesSettings, pages_router


def results_and_pages(
    service: ResultsService,
    settings: ResultsSettings,
    pages: PagesSettings | None = None,
    resolver: ChangeResolver | None = None,
    *,
    public_url: str | None = None,
) -> list[APIRouter]:
    """Every route of the results service, then the pages when reads are public. An app
    mounting them should also call `install_error_handlers(app)`. `public_url` is the
    service's address for links it hands out (else each request's own)."""
    pages = pages or PagesSettings()
    checks = ChecksSettings(
        expected=pages.expected_cis,
        rerun_comments=pages.rerun_comments,
        page_path=(lambda change: f"/changes/{change}") if settings.public_reads else None,
        base_url=public_url,
    )
    routers = [
        *results_routers(service, settings, resolver, checks),
        documented(plugin_router(public_url)),
    ]
    if settings.public_reads:
        routers.append(documented(pages_router(service, pages), 400, 404, 422))
    return routers


def allow_gerrit_origins(app: FastAPI, pages: PagesSettings | None) -> None:
    """Let pages of the configured Gerrit origins read the API; no other origin."""
    if pages is None or not pages.gerrit_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(pages.gerrit_origins),
        allow_methods=["GET"],
        allow_headers=["Authorization"],
        max_age=600,
    )


def create_results_app(
    service: ResultsService,
    settings: ResultsSettings | None = None,
    resolver: ChangeResolver | None = None,
    pages: PagesSettings | None = None,
    *,
    public_url: str | None = None,
) -> FastAPI:
    """The standalone results service; OpenAPI at /openapi.json, docs at /docs, Prometheus
    metrics at /metrics; every request logged (access_log.py)."""
    app = FastAPI(
        title="crosscheck results",
        version=__version__,
        description="CI results as structured data: report them, read them, see CI health.",
    )
    app.add_middleware(HeadAsGet)  # inside the access log, which logs HEAD as HEAD
    app.add_middleware(AccessLog)
    app.add_middleware(BodyLimit)
    allow_gerrit_origins(app, pages)
    app.include_router(metrics_router())
    chosen = settings or ResultsSettings()
    for router in results_and_pages(service, chosen, pages, resolver, public_url=public_url):
        app.include_router(router)
    install_error_handlers(app)
    return app
