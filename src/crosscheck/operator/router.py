"""The operator API: `GET /api/v1/status` for anyone, as Zuul's status page is; enqueue
and dequeue for the admin token only.

    GET  /api/v1/status    pipelines, their queued items and builds, running builds,
                           reports waiting to be delivered or given up lately
    POST /api/v1/enqueue   {pipeline, change, patchset?, connection?, project?}
    POST /api/v1/dequeue   {item} or {pipeline, change, patchset?, connection?}

Refusals answer `{"detail": message}` with the status of their `OperatorError`.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside `operator_router`.

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status

from crosscheck.config.secrets import TokenSource, admin_token
from crosscheck.executor.pool import NodePool
from crosscheck.http.guarded_routes import guarded_route
from crosscheck.operator.actions import Operations
from crosscheck.operator.auth import admin_dependency, admin_guard
from crosscheck.operator.errors import OperatorError
from crosscheck.operator.schemas import DequeueAnswer, DequeueBody, EnqueueAnswer, EnqueueBody
from crosscheck.operator.status import StatusView
from crosscheck.scheduler.scheduler import Scheduler

log = logging.getLogger(__name__)

_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or not the admin token"},
    403: {"description": "No admin token is configured: writes are disabled"},
    404: {"description": "No such pipeline, connection, change, patchset or item"},
    409: {"description": "The change or item is not in a state this fits"},
    422: {"description": "The request is malformed or contradicts the configuration"},
}


def operator_router(scheduler: Scheduler, nodes: NodePool | None = None) -> APIRouter:
    """Routes over `scheduler`'s queues (and the state of `nodes`). The admin token is
    the one the `ci` element of the scheduler's current configuration names, read at
    each write."""

    def token() -> str | None:
        return admin_token(scheduler.config().ci)

    _check_token_source(token)
    operations = Operations(scheduler, nodes)
    require_admin = admin_dependency(token)
    router = APIRouter(
        prefix="/api/v1", tags=["operator"], route_class=guarded_route(admin_guard(require_admin))
    )

    @router.get(
        "/status",
        response_model=StatusView,
        summary="Queues, running builds and undelivered reports",
    )
    async def get_status() -> StatusView:
        return await operations.status()

    @router.post(
        "/enqueue",
        status_code=status.HTTP_201_CREATED,
        response_model=EnqueueAnswer,
        responses={**_REFUSALS, 502: {"description": "Gerrit did not answer"}},
        summary="Queue a change in a pipeline, as if a trigger had matched it",
    )
    async def enqueue(
        body: EnqueueBody, _: Annotated[None, Depends(require_admin)]
    ) -> EnqueueAnswer:
        try:
            item = await operations.enqueue(
                body.pipeline,
                body.change,
                patchset=body.patchset,
                connection=body.connection,
                project=body.project,
            )
        except OperatorError as error:
            raise _http(error) from error
        return EnqueueAnswer(item=item)

    @router.post(
        "/dequeue",
        response_model=DequeueAnswer,
        responses=_REFUSALS,
        summary="End queued items without a report; their builds are canceled",
    )
    async def dequeue(
        body: DequeueBody, _: Annotated[None, Depends(require_admin)]
    ) -> DequeueAnswer:
        try:
            if body.item is not None:
                items = [await operations.dequeue_item(body.item)]
            else:
                if body.pipeline is None or body.change is None:  # pragma: no cover
                    raise OperatorError("give the item, or its pipeline and change")
                items = await operations.dequeue_change(
                    body.pipeline, body.change, patchset=body.patchset, connection=body.connection
                )
        except OperatorError as error:
            raise _http(error) from error
        return DequeueAnswer(dequeued=items)

    return router


def _check_token_source(token: TokenSource) -> None:
    """A token the configuration names but that cannot be read stops serve at start
    (SecretError); none at all is allowed, with a warning."""
    if token() is None:
        log.warning(
            "operator commands (enqueue, dequeue) are disabled: no admin token is configured "
            "(admin_token_file or admin_token_env in the '- ci:' element)"
        )


def _http(error: OperatorError) -> HTTPException:
    return HTTPException(error.status_code, str(error))
