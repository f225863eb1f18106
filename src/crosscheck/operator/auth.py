"""Who may change the queues: the holder of the admin token the `ci` element names.

The token is read at each request, so a rotated token file takes effect without
a restart, and compared in constant time. With no token configured every write
is refused, saying how to configure one: an unprotected enqueue would let anyone
run jobs on the CI's nodes.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency in the
# signature of a function defined inside another function.

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crosscheck.config.secrets import SecretError, TokenSource
from crosscheck.http.guarded_routes import Guard, GuardOf, dependency_calls
from crosscheck.results.tokens import same_secret

NOT_CONFIGURED = (
    "operator commands are disabled: no admin token is configured. Name one in the "
    "'- ci:' element with admin_token_file (a file holding the token) or admin_token_env "
    "(an environment variable); crosscheck serve takes it when it reloads its configuration "
    "(on a file change or SIGHUP)"
)

_bearer = HTTPBearer(auto_error=False, description="The admin token of the `ci` element")


def admin_dependency(token_source: TokenSource) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that lets only the admin token through."""

    async def require_admin(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        try:
            expected = token_source()
        except SecretError as error:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"operator commands are unavailable: {error}",
            ) from error
        if not expected:
            raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_CONFIGURED)
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "this needs the admin token (Authorization: Bearer TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not same_secret(credentials.credentials, expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "the token is not the admin token (the one the '- ci:' element names)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_admin


def admin_guard(require_admin: Callable[..., Awaitable[None]]) -> GuardOf:
    """The guard (guarded_routes.py) of the routes that depend on `require_admin`: a
    body refused is said only to the admin."""

    async def guard(request: Request) -> None:
        await require_admin(await _bearer(request))

    def guard_of(route: APIRoute) -> Guard | None:
        return guard if require_admin in dependency_calls(route) else None

    return guard_of
