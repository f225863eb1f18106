"""The verify-status plugin's REST shape, so its clients (Jenkins' reporter) work unchanged.

    POST /a/changes/{change}/revisions/{revision}/verify-status~verifications  -> 204
    GET  [/a]/changes/{change}/revisions/{revision}/verify-status~verifications
         ?sort=REPORTER|NAME|DATE&filter=CURRENT|FAILED -> {job id: VerificationInfo}

The caller's CI account is the reporter: a `reporter` in the body is not trusted.
Values: below 0 failed, 0 unstable, 1 passed, 2 in progress; skipped and not
registered results read as 0. Bad bodies get 400, as from the plugin.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Self

from fastapi import APIRouter, Body, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from crosscheck.model.results import (
    CIAccount,
    NewResult,
    Result,
    ResultValue,
    current_results,
    format_duration,
    parse_duration,
)
from crosscheck.results.api import refusals
from crosscheck.results.auth import AuthDependencies, Caller
from crosscheck.results.errors import (
    InvalidInputError,
    ResultsError,
    UnknownChangeError,
    describe,
)
from crosscheck.results.http_errors import validation_problems
from crosscheck.results.resolver import ChangeResolver, PatchsetRef
from crosscheck.results.service import ResultsService

PATH = "/changes/{change:path}/revisions/{revision}/verify-status~verifications"


class Sort(StrEnum):
    REPORTER = "REPORTER"
    NAME = "NAME"
    DATE = "DATE"


class Filter(StrEnum):
    CURRENT = "CURRENT"
    FAILED = "FAILED"


class VerificationIn(BaseModel):
    # Clients may send fields the plugin fills itself (granted); they are ignored.
    model_config = ConfigDict(extra="ignore")

    name: str
    value: int
    url: str | None = None
    reporter: str | None = None
    comment: str | None = None
    category: str | None = None
    duration: str | None = None
    abstain: bool = False
    rerun: bool = False


class VerifyInput(BaseModel):
    verifications: dict[str, VerificationIn] = Field(min_length=1)


class VerificationInfo(BaseModel):
    name: str
    url: str | None = None
    value: int
    abstain: bool
    rerun: bool
    reporter: str
    comment: str | None = None
    granted: str = Field(description="Gerrit's timestamp format, UTC")
    category: str | None = None
    duration: str | None = None

    @classmethod
    def of(cls, result: Result) -> Self:
        return cls(
            name=result.job,
            url=result.url,
            value=result.value.verify_status,
            abstain=not result.voting,
            rerun=result.rerun,
            reporter=result.account,
            comment=result.comment,
            granted=result.reported_at.strftime("%Y-%m-%d %H:%M:%S.%f000"),
            category=result.category,
            duration=None if result.duration is None else format_duration(result.duration),
        )


_INPUT = TypeAdapter(VerifyInput)


def select_verifications(
    results: Sequence[Result], sort: Sort | None, filter_: Filter | None
) -> list[Result]:
    """The plugin's filter (CURRENT: newest per reporter and name; FAILED) and sort."""
    chosen = list(results)
    if filter_ is Filter.CURRENT:
        chosen = current_results(chosen)
    elif filter_ is Filter.FAILED:
        chosen = [r for r in chosen if r.value is ResultValue.FAILED]
    chosen.sort(key=lambda r: r.newness, reverse=True)  # DATE, and the tie-break of the others
    if sort is Sort.NAME:
        chosen.sort(key=lambda r: r.job)
    elif sort is Sort.REPORTER:
        chosen.sort(key=lambda r: (r.account, r.job))
    return chosen


def to_new_results(body: VerifyInput, where: PatchsetRef) -> list[NewResult]:
    problems: list[tuple[str, str]] = []
    items: list[NewResult] = []
    for key, info in body.verifications.items():
        try:
            value = ResultValue.from_verify_status(info.value)
            duration = None if not info.duration else parse_duration(info.duration)
        except ValueError as error:
            problems.append((f"verifications.{key}", str(error)))
            continue
        items.append(
            NewResult(
                project=where.project,
                change=where.change,
                patchset=where.patchset,
                revision=where.revision,
                branch=where.branch,
                job=info.name,
                value=value,
                url=info.url or None,
                duration=duration,
                voting=not info.abstain,
                category=info.category or None,
                rerun=info.rerun,
                comment=info.comment or None,
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return items


def verify_status_router(
    service: ResultsService, auth: AuthDependencies, resolver: ChangeResolver
) -> APIRouter:
    router = APIRouter(tags=["verify-status plugin compatibility"])

    @router.post(f"/a{PATH}", status_code=status.HTTP_204_NO_CONTENT, summary="Save results")
    async def post(
        change: str,
        revision: str,
        account: Annotated[CIAccount, Depends(auth.reporter)],
        body: Annotated[Any, Body()] = None,
    ) -> Response:
        async with refusals():
            parsed = _parse(body)
            where = await resolver.resolve(change, revision)
            try:
                await service.report(account.name, to_new_results(parsed, where))
            except InvalidInputError as error:
                # The plugin answers 400, located by the client's own keys.
                problems = _by_key(error.problems, list(parsed.verifications))
                raise ResultsError(describe(problems), problems) from error
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def get(
        change: str,
        revision: str,
        _: Annotated[Caller, Depends(auth.reader)],
        sort: Sort | None = None,
        filter: Filter | None = None,
    ) -> dict[str, VerificationInfo]:
        try:
            where = await resolver.resolve(change, revision)
        except UnknownChangeError:
            return {}
        found = await service.change_results(where.change, patchset=where.patchset, current=False)
        return {r.uuid: VerificationInfo.of(r) for r in select_verifications(found, sort, filter)}

    for prefix in ("/a", ""):
        router.add_api_route(
            f"{prefix}{PATH}",
            get,
            methods=["GET"],
            summary="Read results",
            response_model_exclude_none=True,
        )
    return router


def _parse(body: Any) -> VerifyInput:
    try:
        return _INPUT.validate_python(body)
    except ValidationError as error:
        problems = validation_problems(error.errors())
        raise ResultsError(describe(problems), problems) from error


def _by_key(problems: Sequence[tuple[str, str]], keys: Sequence[str]) -> list[tuple[str, str]]:
    located: list[tuple[str, str]] = []
    for where, message in problems:
        if where.startswith("verifications."):
            located.append((where, message))
            continue
        index, _, field = where.partition("].")
        position = int(index.lstrip("[")) if index.lstrip("[").isdigit() else None
        key = keys[position] if position is not None else "?"
        located.append((f"verifications.{key}.{field}", message))
    return located
