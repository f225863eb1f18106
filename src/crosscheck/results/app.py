"""The results service's routers, each refusing unstorable input and documenting its
error answers; the apps serving them are composed in serve/."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from crosscheck.http.errors import error_responses
from crosscheck.http.storable import refuse_unstorable
from crosscheck.results.api import accounts_router, results_router
from crosscheck.results.audit_api import audit_router
from crosscheck.results.auth import Authenticator, auth_dependencies
from crosscheck.results.candidates_api import candidate_results_router
from crosscheck.results.checks_api import ChecksSettings, checks_router
from crosscheck.results.merges_api import merges_router
from crosscheck.results.resolver import ChangeResolver, StoreResolver
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.results.verify_status import verify_status_router


def results_routers(
    service: ResultsService,
    settings: ResultsSettings,
    resolver: ChangeResolver | None = None,
    checks: ChecksSettings | None = None,
) -> list[APIRouter]:
    """Every route of the results service. An app mounting them should also call
    `install_error_handlers(app)`, for located errors (`results[3].value`)."""
    auth = auth_dependencies(Authenticator(service, settings))
    verify_status = verify_status_router(service, auth, resolver or StoreResolver(service))
    return [
        documented(results_router(service, auth)),
        documented(accounts_router(service, auth)),
        documented(audit_router(service, auth), 400, 401, 403),
        documented(merges_router(service, auth), 400, 401, 403),
        documented(candidate_results_router(service, auth), 400, 401, 403, 404, 429),
        documented(checks_router(service, auth, checks or ChecksSettings()), 400, 401, 403),
        # The plugin answers a bad body with 400; the rest as the native API.
        documented(verify_status, 400, 401, 403, 404, 422, 429, 503),
    ]


def documented(router: APIRouter, *codes: int) -> APIRouter:
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
