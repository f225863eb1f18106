"""Routes whose credentials are judged before their body.

FastAPI reads a JSON body before any dependency runs, so a body that is not JSON was
refused (422) before the token was looked at: a caller without the right to send
anything learnt how to shape it. So was a body it could not parse at all (400: not
UTF-8, nested too deep) and one the router's storable check refused (422: a NUL
character). A guarded route answers such a request as it answers one with a
well-formed body: the route's guard first (401 or 403), the body's problems only to
a caller that may send it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

#: The answers about a request's body: FastAPI's (422 invalid, 400 unparsable), a router
#: dependency's (422) and a compressed body's (415, http/body_limit.py); starlette's
#: HTTPException, which FastAPI's extends.
_BODY_REFUSALS = (400, 415, 422)

#: Raises the refusal of a request's credentials (an HTTPException), if any.
Guard = Callable[[Request], Awaitable[None]]
#: The guard of a route (from its dependencies), or None for a route without one.
GuardOf = Callable[[APIRoute], Guard | None]


def guarded_route(guard_of: GuardOf) -> type[APIRoute]:
    """The route class that asks `guard_of(route)` before answering 422."""

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            guard = guard_of(self)
            if guard is None:
                return handler

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except RequestValidationError:
                    await guard(request)
                    raise
                except HTTPException as refusal:
                    if refusal.status_code in _BODY_REFUSALS:
                        await guard(request)
                    raise

            return handle

    return GuardedRoute


def dependency_calls(route: APIRoute) -> list[Callable[..., Any] | None]:
    """The route's direct dependencies (the router's included), as callables."""
    return [needed.call for needed in route.dependant.dependencies]
