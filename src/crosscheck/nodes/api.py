"""The nodes API: what every node is doing for anyone, as `GET /api/v1/status`; holds,
drains and autohold requests for the admin token only (operator/auth.py).

    GET    /api/v1/nodes                  {nodes: [...], autoholds: [...]}
    POST   /api/v1/nodes/{name}/hold      {reason, for?, by?}      -> the node
    POST   /api/v1/nodes/{name}/release   {by?}                    -> the node
    POST   /api/v1/nodes/{name}/drain     {by?}                    -> the node
    POST   /api/v1/nodes/{name}/undrain   {by?}                    -> the node
    GET    /api/v1/autoholds              {autoholds: [...]}
    POST   /api/v1/autoholds              {job, project?, change?, count?, for?, reason, by?}
                                          -> 201, the request
    DELETE /api/v1/autoholds/{id}         -> the request deleted

Refusals answer `{"detail", "errors"}` (http/errors.py) with their `NodesError`'s status.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside `nodes_router`.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, status

from crosscheck.config.secrets import TokenSource
from crosscheck.executor.pool import NodePool
from crosscheck.http.errors import ErrorOut, LocatedHTTPError
from crosscheck.http.guarded_routes import guarded_route
from crosscheck.http.storable import refuse_unstorable
from crosscheck.model.config import Config
from crosscheck.nodes.errors import NodesError
from crosscheck.nodes.operations import NodeOperations
from crosscheck.nodes.schemas import (
    AutoholdBody,
    AutoholdOut,
    AutoholdsOut,
    ByBody,
    HoldBody,
    NodeOut,
    NodesOut,
)
from crosscheck.operator.auth import admin_dependency, admin_guard

NodeName = Annotated[str, Path(min_length=1, max_length=200, description="The node's name")]
AutoholdId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The request's id")]

_REFUSALS = {
    401: "No token, or not the admin token",
    403: "No admin token is configured: writes are disabled",
    404: "No such node or autohold request",
    409: "The node is not held, or it is this host's own slots",
    422: "A field is malformed, or names a job the configuration does not know",
    503: "The admin token cannot be read now, or the pool keeps no store",
}


def _documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers with the body actually sent (http/errors.py's ErrorOut)."""
    return {code: {"model": ErrorOut, "description": _REFUSALS[code]} for code in codes}


_WRITES = _documented(401, 403, 404, 409, 503)

T = TypeVar("T")


def nodes_router(pool: NodePool, token: TokenSource, config: Callable[[], Config]) -> APIRouter:
    """Routes over `pool`. The admin token is read from `token` at each write; autohold
    requests name jobs of the configuration `config` returns then."""
    operations = NodeOperations(pool, config)
    require_admin = admin_dependency(token)
    router = APIRouter(
        prefix="/api/v1",
        tags=["nodes"],
        dependencies=[Depends(refuse_unstorable)],
        responses=_documented(422),
        route_class=guarded_route(admin_guard(require_admin)),
    )
    _reads(router, operations)
    _node_writes(router, operations, require_admin)
    _autohold_writes(router, operations, require_admin)
    return router


def _reads(router: APIRouter, operations: NodeOperations) -> None:
    @router.get("/nodes", response_model=NodesOut, summary="Every node, and the autoholds")
    async def get_nodes() -> NodesOut:
        return await _answer(operations.overview())

    @router.get("/autoholds", response_model=AutoholdsOut, summary="The autohold requests")
    async def get_autoholds() -> AutoholdsOut:
        return AutoholdsOut(autoholds=await _answer(operations.autoholds()))


def _node_writes(
    router: APIRouter, operations: NodeOperations, require_admin: Callable[..., Awaitable[None]]
) -> None:
    @router.post(
        "/nodes/{name}/hold",
        response_model=NodeOut,
        responses=_WRITES,
        summary="Take a node out of rotation until released, or for a while",
    )
    async def hold(
        name: NodeName, body: HoldBody, _: Annotated[None, Depends(require_admin)]
    ) -> NodeOut:
        return await _answer(operations.hold(name, body))

    @router.post(
        "/nodes/{name}/release",
        response_model=NodeOut,
        responses=_WRITES,
        summary="Put a held node back; a work directory an autohold kept is removed",
    )
    async def release(
        name: NodeName, _: Annotated[None, Depends(require_admin)], body: ByBody | None = None
    ) -> NodeOut:
        return await _answer(operations.release(name, (body or ByBody()).by))

    @router.post(
        "/nodes/{name}/drain",
        response_model=NodeOut,
        responses=_WRITES,
        summary="Let a node finish its builds and take no new one",
    )
    async def drain(
        name: NodeName, _: Annotated[None, Depends(require_admin)], body: ByBody | None = None
    ) -> NodeOut:
        return await _answer(operations.drain(name, True, (body or ByBody()).by))

    @router.post(
        "/nodes/{name}/undrain",
        response_model=NodeOut,
        responses=_WRITES,
        summary="Let a drained node take builds again",
    )
    async def undrain(
        name: NodeName, _: Annotated[None, Depends(require_admin)], body: ByBody | None = None
    ) -> NodeOut:
        return await _answer(operations.drain(name, False, (body or ByBody()).by))


def _autohold_writes(
    router: APIRouter, operations: NodeOperations, require_admin: Callable[..., Awaitable[None]]
) -> None:
    @router.post(
        "/autoholds",
        status_code=status.HTTP_201_CREATED,
        response_model=AutoholdOut,
        responses=_WRITES,
        summary="Keep the node(s) of a job's next failed build(s) for debugging",
    )
    async def add_autohold(
        body: AutoholdBody, _: Annotated[None, Depends(require_admin)]
    ) -> AutoholdOut:
        return await _answer(operations.add_autohold(body))

    @router.delete(
        "/autoholds/{autohold_id}",
        response_model=AutoholdOut,
        responses=_WRITES,
        summary="Withdraw an autohold request (nodes it holds already stay held)",
    )
    async def delete_autohold(
        autohold_id: AutoholdId, _: Annotated[None, Depends(require_admin)]
    ) -> AutoholdOut:
        return await _answer(operations.delete_autohold(autohold_id))


async def _answer(work: Awaitable[T]) -> T:
    """`work`'s result, or its refusal as the located HTTP error the clients read."""
    try:
        return await work
    except NodesError as error:
        problems = [(error.field, str(error))] if error.field else []
        raise LocatedHTTPError(error.status_code, str(error), problems) from error
