"""The results service as a FastAPI app of its own, or as routers for `crosscheck serve`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from crosscheck import __version__
from crosscheck.http.access_log import AccessLog
from crosscheck.http.errors import error_responses, install_error_handlers
from crosscheck.http.metrics_endpoint import metrics_router
from crosscheck.http.storable import refuse_unstorable
from crosscheck.results.api import accounts_router, results_router
from crosscheck.results.audit_api import audit_router
from crosscheck.results.auth import Authenticator, auth_dependencies
from crosscheck.results.merges_api import merges_router
from crosscheck.results.resolver import ChangeResolver, StoreResolver
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.results.verify_status import verify_status_router
from crosscheck.web.pages import pages_router


def results_routers(
    service: ResultsService,
    settings: ResultsSettings,
    resolver: ChangeResolver | None = None,
) -> list[APIRouter]:
    """Every route of the results service. An app mounting them should also call
    `install_error_handlers(app)`, for located errors (`results[3].value`)."""
    auth = auth_dependencies(Authenticator(service, settings))
    verify_status = verify_status_router(service, auth, resolver or StoreResolver(service))
    return [
        _documented(results_router(service, auth)),
        _documented(accounts_router(service, auth)),
        _documented(audit_router(service, auth), 400, 401, 403),
        _documented(merges_router(service, auth), 400, 401, 403),
        # The plugin answers a bad body with 400; the rest as the native API.
        _documented(verify_status, 400, 401, 403, 404, 422, 429, 503),
        *(
            [_documented(pages_router(service, settings.pages), 400, 404, 422)]
            if settings.public_reads
            else []
        ),
    ]


def _documented(router: APIRouter, *codes: int) -> APIRouter:
    """`router` refusing strings no store can hold (422), with these error answers in the
    OpenAPI document, each with its real body (FastAPI's own 422 body,
    HTTPValidationError, is not what the service sends)."""
    outer = APIRouter()
    outer.include_router(
        router,
        responses=error_responses(422, *codes),
        dependencies=[Depends(refuse_unstorable)],
    )
    return outer


def create_results_app(
    service: ResultsService,
    settings: ResultsSettings | None = None,
    resolver: ChangeResolver | None = None,
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
    for router in results_routers(service, settings or ResultsSettings(), resolver):
        app.include_router(router)
    install_error_handlers(app)
    return app
