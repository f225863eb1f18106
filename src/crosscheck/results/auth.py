"""Who is calling over HTTP: a CI account (bearer token, or basic name:token as
Jenkins' verify-status reporter sends it), the admin, or nobody.

A CI account's HTTP password is its token, so Gerrit clients configured with a
user name and an HTTP password work unchanged.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from crosscheck.config.secrets import SecretError
from crosscheck.http.guarded_routes import Guard, GuardOf, dependency_calls, guarded_route
from crosscheck.model.results import CIAccount
from crosscheck.results.accounts import check_enabled
from crosscheck.results.errors import (
    AuthenticationError,
    NotAllowedError,
    ResultsError,
    UnavailableError,
)
from crosscheck.results.http_errors import http_error
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.results.tokens import Verified, same_secret, token_hash

log = logging.getLogger(__name__)

_bearer = HTTPBearer(
    auto_error=False,
    description="A CI account's token, the admin token, or the read token (reads only)",
)
_basic = HTTPBasic(
    auto_error=False,
    realm="crosscheck results",
    description="CI account name and its token as the password (verify-status clients)",
)


@dataclass(frozen=True)
class Caller:
    account: CIAccount | None = None
    admin: bool = False
    #: The read token: reads, nothing else.
    reader: bool = False

    @property
    def anonymous(self) -> bool:
        return self.account is None and not self.admin and not self.reader


@dataclass(frozen=True)
class Writer:
    """A CI account that may report, and its token as remembered when the account was not
    read for this request (the write confirms it: ResultsService.report)."""

    account: CIAccount
    remembered: Verified | None = None


class Authenticator:
    def __init__(self, service: ResultsService, settings: ResultsSettings) -> None:
        self.service = service
        self.settings = settings
        #: Said once, not at every request, until the read token can be read again.
        self._read_token_lost = False

    async def identify(
        self,
        bearer: HTTPAuthorizationCredentials | None,
        basic: HTTPBasicCredentials | None,
    ) -> Caller:
        """The caller; wrong credentials are refused, none at all is anonymous."""
        if bearer is not None:
            return await self._by_bearer(bearer.credentials)
        if basic is not None:
            return await self._by_basic(basic.username, basic.password)
        return Caller()

    def remembered_writer(self, bearer: HTTPAuthorizationCredentials | None) -> Writer | None:
        """The writer a bearer token was checked as a moment ago, without reading the
        store; None when it must be read (not seen lately, or the read token)."""
        if bearer is None or self._is_read_token(bearer.credentials):
            return None
        found = self.service.accounts.verified.get(token_hash(bearer.credentials))
        return None if found is None else Writer(found.account, found)

    async def confirm(self, writer: Writer) -> None:
        """A remembered writer as its token and account are now: refused if they no
        longer may write."""
        if writer.remembered is None:
            return
        found = await self.service.accounts.verify_hash(writer.remembered.token_hash)
        if found is None:
            raise AuthenticationError("the token is not valid (wrong, or rotated since)")
        require_reporter(Caller(account=found.account, admin=found.account.admin))

    async def _by_bearer(self, token: str) -> Caller:
        # The read token first: it sits in a file Gerrit hands to everyone, so whatever
        # else it might equal, it must never grant more than reading.
        if self._is_read_token(token):
            return Caller(reader=True)
        # A CI account's token next: reporting goes on when the admin token cannot be read.
        account = await self.service.accounts.by_token(token)
        if account is not None:
            return Caller(account=account, admin=account.admin)
        if self._is_admin_token(token):
            return Caller(admin=True)
        raise AuthenticationError("the token is not valid (wrong, or rotated since)")

    def _is_admin_token(self, token: str) -> bool:
        """Read now, so a rotated token file or a reloaded configuration counts at once."""
        try:
            admin_token = self.settings.admin_token()
        except SecretError as error:
            raise UnavailableError(f"the admin token cannot be checked: {error}") from error
        if not admin_token:
            return False
        return same_secret(token, admin_token)

    def _is_read_token(self, token: str) -> bool:
        try:
            read_token = self.settings.read_token()
        except SecretError as error:
            # Checked at start; gone since (a file removed): reports must still go on.
            if not self._read_token_lost:
                log.warning("the read token cannot be checked, so it reads nothing: %s", error)
                self._read_token_lost = True
            return False
        self._read_token_lost = False
        return bool(read_token) and same_secret(token, read_token or "")

    async def _by_basic(self, name: str, token: str) -> Caller:
        account = await self.service.accounts.by_token(token)
        if account is None or account.name != name:
            raise AuthenticationError(
                f"wrong user name or token for CI account {name!r} "
                "(the HTTP password is the account's token)"
            )
        return Caller(account=account, admin=account.admin)


@dataclass(frozen=True)
class AuthDependencies:
    """FastAPI dependencies: `caller` (anyone), `reporter`, `writer` (a reporter whose
    write confirms its token), `admin` and `reader`; the route class of routes that write."""

    caller: Callable[..., Awaitable[Caller]]
    reporter: Callable[..., Awaitable[CIAccount]]
    writer: Callable[..., Awaitable[Writer]]
    admin: Callable[..., Awaitable[Caller]]
    reader: Callable[..., Awaitable[Caller]]
    #: The route class of routes that write (credentials judged before the body).
    guarded_route: type[APIRoute]


def auth_dependencies(authenticator: Authenticator) -> AuthDependencies:
    async def caller(
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    ) -> Caller:
        try:
            return await authenticator.identify(bearer, basic)
        except ResultsError as error:
            raise http_error(error) from error

    async def reporter(who: Annotated[Caller, Depends(caller)]) -> CIAccount:
        try:
            return require_reporter(who)
        except ResultsError as error:
            raise http_error(error) from error

    async def confirm(writer: Writer) -> None:
        try:
            await authenticator.confirm(writer)
        except ResultsError as error:
            raise http_error(error) from error

    async def writer(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    ) -> Writer:
        remembered = authenticator.remembered_writer(bearer)
        if remembered is not None:
            setattr(request.state, _CONFIRM, partial(confirm, remembered))
            return remembered
        who = await caller(bearer, basic)
        try:
            checked = Writer(require_reporter(who))
        except ResultsError as error:
            raise http_error(error) from error
        setattr(request.state, _CONFIRM, _nothing_more)
        return checked

    async def admin(who: Annotated[Caller, Depends(caller)]) -> Caller:
        try:
            return require_admin(who)
        except ResultsError as error:
            raise http_error(error) from error

    async def reader(who: Annotated[Caller, Depends(caller)]) -> Caller:
        try:
            return require_reader(who, authenticator.settings.public_reads)
        except ResultsError as error:
            raise http_error(error) from error

    route = guarded_route(route_guard(caller, writer, (reporter, admin)))
    return AuthDependencies(caller, reporter, writer, admin, reader, route)


#: Where a request whose writer was checked keeps how to confirm it (nothing more to do
#: unless the token was remembered from an earlier request).
_CONFIRM = "confirm_remembered_writer"


async def _nothing_more() -> None:
    """The writer was read from the store for this very request."""


def route_guard(
    caller: Callable[..., Awaitable[Caller]],
    writer: Callable[..., Awaitable[Writer]],
    guards: Sequence[Callable[[Caller], Awaitable[Any]]],
) -> GuardOf:
    """A route's guard (guarded_routes.py): `writer`, or the first of `guards` (reporter,
    admin) the route depends on. A remembered writer is confirmed, so a revoked token
    (401) or a disabled account (403) is said before the body's problems, as when the
    token is read for the request."""

    def guard_of(route: APIRoute) -> Guard | None:
        calls = dependency_calls(route)
        if writer in calls:
            return partial(_writer_first, writer)
        guard = next((call for call in calls if call in guards), None)
        return None if guard is None else partial(_guard_first, caller, guard)

    return guard_of


async def _writer_first(writer: Callable[..., Awaitable[Writer]], request: Request) -> None:
    """Raises the writer's refusal, if any, of a request whose body was refused."""
    confirm: Callable[[], Awaitable[None]] | None = getattr(request.state, _CONFIRM, None)
    if confirm is None:  # the body was refused before the writer was asked for
        await writer(request, await _bearer(request), await _basic(request))
    else:
        await confirm()


async def _guard_first(
    caller: Callable[..., Awaitable[Caller]],
    guard: Callable[[Caller], Awaitable[Any]],
    request: Request,
) -> None:
    """Raises the guard's refusal, if any, of a request whose body was refused."""
    await guard(await caller(await _bearer(request), await _basic(request)))


def require_reporter(caller: Caller) -> CIAccount:
    """A CI account, enabled, that may write its results."""
    if caller.reader:
        raise NotAllowedError(_READ_ONLY)
    if caller.account is None and caller.admin:
        # The token is right, just not for this: 401 would send the caller hunting for a typo.
        raise NotAllowedError(
            "the admin token manages CI accounts but does not report results: report with "
            "a CI account's token (create one with POST /api/v1/accounts or "
            "`crosscheck results account create`)"
        )
    if caller.account is None:
        raise AuthenticationError(
            "reporting a result needs a CI account's token "
            "(Authorization: Bearer TOKEN, or basic auth with the account name)"
        )
    check_enabled(caller.account)
    return caller.account


_READ_ONLY = (
    "the read token only reads results: report with a CI account's token, manage "
    "accounts with the admin token"
)


def require_admin(caller: Caller) -> Caller:
    if caller.reader:
        raise NotAllowedError(_READ_ONLY)
    if caller.anonymous:
        # Accounts, merges and the audit log share this guard: the words fit each.
        raise AuthenticationError(
            "this request needs the admin token of the results service "
            "(Authorization: Bearer TOKEN)"
        )
    if caller.account is not None:
        check_enabled(caller.account)
        if not caller.admin:
            raise NotAllowedError(f"CI account {caller.account.name!r} is not an admin")
    return caller


def require_reader(caller: Caller, public_reads: bool) -> Caller:
    if public_reads:
        return caller
    if caller.anonymous:
        raise AuthenticationError("this results service needs a token to read results")
    if caller.account is not None:
        check_enabled(caller.account)
    return caller
