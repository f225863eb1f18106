"""The native REST API under /api/v1: report results, read them, statistics, accounts."""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from crosscheck.http.errors import error_responses
from crosscheck.model.results import Result
from crosscheck.results.audit import actor_of
from crosscheck.results.auth import AuthDependencies, Caller, Writer
from crosscheck.results.errors import ResultsError
from crosscheck.results.http_errors import http_error
from crosscheck.results.schemas import (
    MAX_GERRIT_INT,
    AccountChangeIn,
    AccountIn,
    AccountOut,
    AccountsOut,
    AllStatisticsOut,
    BatchIn,
    DisableIn,
    ResultFilters,
    ResultIn,
    ResultOut,
    ResultsOut,
    SshKeyIn,
    SshKeyOut,
    StatisticsOut,
    TokenOut,
)
from crosscheck.results.service import ResultsService

PREFIX = "/api/v1"
ChangePath = Annotated[int, Path(ge=1, le=MAX_GERRIT_INT, description="The change number")]
PatchsetPath = Annotated[int, Path(ge=1, le=MAX_GERRIT_INT, description="The patchset number")]
#: Every route here may answer these, with the body http/errors.py describes.
_ERRORS = error_responses(400, 401, 403, 404, 422, 429, 503)


@asynccontextmanager
async def refusals(prefix: str = "") -> AsyncIterator[None]:
    """The service's refusals as HTTP errors, located under `prefix`."""
    try:
        yield
    except ResultsError as error:
        raise http_error(error, prefix) from error


def results_router(service: ResultsService, auth: AuthDependencies) -> APIRouter:
    router = APIRouter(
        prefix=PREFIX, tags=["results"], responses=_ERRORS, route_class=auth.guarded_route
    )
    Reporter = Annotated[Writer, Depends(auth.writer)]  # noqa: N806 -- a type alias
    Reader = Annotated[Caller, Depends(auth.reader)]  # noqa: N806

    @router.post("/results", status_code=status.HTTP_201_CREATED, summary="Report one result")
    async def post_result(body: ResultIn, writer: Reporter) -> ResultOut:
        async with refusals():
            (stored,) = await service.report(
                writer.account.name,
                [body.to_new()],
                claimed=[body.ci],
                verified=writer.account,
                remembered=writer.remembered,
            )
        return ResultOut.of(stored)

    @router.post(
        "/results/batch",
        status_code=status.HTTP_201_CREATED,
        summary="Report many results: all are stored, or none",
    )
    async def post_batch(body: BatchIn, writer: Reporter) -> ResultsOut:
        async with refusals("results"):
            stored = await service.report(
                writer.account.name,
                [item.to_new() for item in body.results],
                claimed=[item.ci for item in body.results],
                verified=writer.account,
                remembered=writer.remembered,
            )
        return ResultsOut.of(stored)

    @router.get("/changes/{change}/results", summary="A change's results")
    async def change_results(
        change: ChangePath,
        _: Reader,
        filters: Annotated[ResultFilters, Query()],
    ) -> ResultsOut:
        return ResultsOut.of(await _filtered(service, change, filters.patchset, filters))

    @router.get("/changes/{change}/patchsets/{patchset}/results", summary="A patchset's results")
    async def patchset_results(
        change: ChangePath,
        patchset: PatchsetPath,
        _: Reader,
        filters: Annotated[ResultFilters, Query()],
    ) -> ResultsOut:
        return ResultsOut.of(await _filtered(service, change, patchset, filters))

    @router.get("/accounts/{name}/results", summary="A CI account's results, newest first")
    async def account_results(
        name: str,
        _: Reader,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[
            datetime | None, Query(description="Page: results reported before this time")
        ] = None,
    ) -> ResultsOut:
        async with refusals():
            return ResultsOut.of(await service.account_results(name, limit=limit, before=before))

    @router.get("/statistics", summary="Every CI account's health: counts over 24h, 7d, 30d")
    async def all_statistics(_: Reader) -> AllStatisticsOut:
        found = await service.statistics()
        return AllStatisticsOut(accounts=[StatisticsOut.of(s) for s in found])

    @router.get("/accounts/{name}/statistics", summary="One CI account's health")
    async def account_statistics(name: str, _: Reader) -> StatisticsOut:
        async with refusals():
            return StatisticsOut.of(await service.account_statistics(name))

    @router.get("/accounts", summary="CI accounts")
    async def list_accounts(_: Reader) -> AccountsOut:
        found = await service.accounts.list_accounts()
        return AccountsOut(accounts=[AccountOut.of(a) for a in found])

    @router.get("/accounts/{name}", summary="One CI account")
    async def get_account(name: str, _: Reader) -> AccountOut:
        async with refusals():
            return AccountOut.of(await service.accounts.get(name))

    return router


async def _filtered(
    service: ResultsService, change: int, patchset: int | None, filters: ResultFilters
) -> list[Result]:
    return await service.change_results(
        change,
        patchset=patchset,
        current=not filters.history,
        account=filters.ci,
        job=filters.job,
        failed_only=filters.failed_only,
    )


def accounts_router(service: ResultsService, auth: AuthDependencies) -> APIRouter:
    """Admin only: create, change, disable, enable accounts; rotate tokens; add SSH keys."""
    router = APIRouter(
        prefix=f"{PREFIX}/accounts",
        tags=["accounts (admin)"],
        responses=_ERRORS | error_responses(409),
        dependencies=[Depends(auth.admin)],
        route_class=auth.guarded_route,
    )
    Admin = Annotated[Caller, Depends(auth.admin)]  # noqa: N806 -- a type alias

    @router.post("", status_code=status.HTTP_201_CREATED, summary="Create a CI account")
    async def create(body: AccountIn, who: Admin) -> TokenOut:
        async with refusals():
            account, token = await service.accounts.create(
                body.name,
                owner=body.owner,
                info_url=body.info_url,
                driver=body.driver,
                contact=body.contact,
                allowed_projects=body.allowed_projects,
                admin=body.admin,
                by=_actor(who),
            )
        return TokenOut(account=AccountOut.of(account), token=token)

    @router.patch(
        "/{name}", summary="Change a CI account's owner, info URL, driver, contact or projects"
    )
    async def change(name: str, body: AccountChangeIn, who: Admin) -> AccountOut:
        async with refusals():
            return AccountOut.of(
                await service.accounts.update(
                    name,
                    owner=body.owner,
                    info_url=body.info_url,
                    driver=body.driver,
                    contact=body.contact,
                    allowed_projects=body.allowed_projects,
                    by=_actor(who),
                )
            )

    @router.post("/{name}/disable", summary="Disable a CI account: it can no longer report")
    async def disable(name: str, who: Admin, body: DisableIn | None = None) -> AccountOut:
        async with refusals():
            reason = body.reason if body else ""
            disabled = await service.accounts.set_enabled(name, False, reason, by=_actor(who))
            return AccountOut.of(disabled)

    @router.post("/{name}/enable", summary="Enable a CI account again")
    async def enable(name: str, who: Admin) -> AccountOut:
        async with refusals():
            return AccountOut.of(await service.accounts.set_enabled(name, True, by=_actor(who)))

    @router.post("/{name}/rotate-token", summary="Revoke the tokens and issue a new one")
    async def rotate(name: str, who: Admin) -> TokenOut:
        async with refusals():
            token = await service.accounts.rotate_token(name, by=_actor(who))
            return TokenOut(account=AccountOut.of(await service.accounts.get(name)), token=token)

    @router.post(
        "/{name}/ssh-keys", status_code=status.HTTP_201_CREATED, summary="Add an SSH public key"
    )
    async def add_key(name: str, body: SshKeyIn, who: Admin) -> SshKeyOut:
        async with refusals():
            key = await service.accounts.add_ssh_key(name, body.key, by=_actor(who))
            return SshKeyOut.of(key)

    @router.get("/{name}/ssh-keys", summary="A CI account's SSH keys")
    async def keys(name: str) -> list[SshKeyOut]:
        async with refusals():
            return [SshKeyOut.of(k) for k in await service.accounts.ssh_keys(name)]

    return router


def _actor(who: Caller) -> str:
    return actor_of(
        admin_token=who.admin, account=who.account.name if who.account is not None else None
    )


__all__ = ["PREFIX", "accounts_router", "refusals", "results_router"]
