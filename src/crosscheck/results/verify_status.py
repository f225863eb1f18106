"""The verify-status plugin's REST shape, so its clients work unchanged.

    POST /a/changes/{change}/revisions/{revision}/verify-status~verifications  -> 204
    GET  [/a]/changes/{change}/revisions/{revision}/verify-status~verifications
         ?sort=REPORTER|NAME|DATE&filter=CURRENT|FAILED -> )]}' {job id: VerificationInfo}

Bodies, as clients really send them:
- `{"verifications": {KEY: {...}}}` with a `name` in each (crosscheck's own clients);
- the same without `name`: the key is the job's name (the plugin's documented example,
  Jenkins' verify-status reporter), or the id of a result on the patchset to report
  that job again (the plugin's update);
- one verification alone, `{"name", "value", ...}` (Buildbot's GerritVerifyStatusPush).

The caller's CI account is the reporter: a `reporter` in the body is not trusted.
Values: below 0 failed, 0 unstable, 1 passed, 2 in progress, and 0 with the duration
`pending` (Buildbot's "build started") in progress; skipped and not registered
results read as 0. Bad bodies get 400, as from the plugin. GET answers start with
Gerrit's `)]}'` line, as the plugin's do.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Self

from fastapi import APIRouter, Body, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from crosscheck.http.problems import describe, validation_problems
from crosscheck.model.results import (
    CIAccount,
    NewResult,
    Result,
    ResultValue,
    current_results,
    format_duration,
    is_pending,
    parse_duration,
    verify_status_value,
)
from crosscheck.results.api import refusals
from crosscheck.results.auth import AuthDependencies, Caller
from crosscheck.results.errors import (
    InvalidInputError,
    ResultsError,
    UnknownChangeError,
)
from crosscheck.results.resolver import ChangeResolver, PatchsetRef
from crosscheck.results.service import ResultsService

PATH = "/changes/{change:path}/revisions/{revision}/verify-status~verifications"
#: Gerrit's guard against JSON hijacking, first on every JSON answer of its REST API.
XSSI_PREFIX = ")]}'\n"
_RESULT_ID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")


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

    #: None: the key of the `verifications` map names the job.
    name: str | None = None
    value: int
    url: str | None = None
    reporter: str | None = None
    comment: str | None = None
    category: str | None = None
    duration: str | None = None
    #: Gson and Buildbot send null for "not said".
    abstain: bool | None = False
    rerun: bool | None = False


class VerifyInput(BaseModel):
    verifications: dict[str, VerificationIn] = Field(min_length=1)


@dataclass(frozen=True)
class ParsedBody:
    """A body in any accepted shape; `flat` locates errors without `verifications.KEY.`."""

    input: VerifyInput
    flat: bool = False

    def where(self, key: str, field: str = "") -> str:
        if self.flat:
            return field or "body"
        return f"verifications.{key}.{field}" if field else f"verifications.{key}"


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
_SINGLE = TypeAdapter(VerificationIn)
_ANSWER = TypeAdapter(dict[str, VerificationInfo])


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


def to_new_results(
    body: ParsedBody, where: PatchsetRef, known_ids: Mapping[str, str] | None = None
) -> list[NewResult]:
    """The body's verifications as results on `where`.

    `known_ids` maps the ids of results on the patchset to their jobs: a key without
    a `name` that is one of them reports that job again, as the plugin updates it.
    """
    problems: list[tuple[str, str]] = []
    items: list[NewResult] = []
    for key, info in body.input.verifications.items():
        job = info.name or (known_ids or {}).get(key.replace("-", "")) or key
        try:
            value = verify_status_value(info.value, info.duration)
            pending = is_pending(info.duration)
            duration = None if not info.duration or pending else parse_duration(info.duration)
        except ValueError as error:
            problems.append((body.where(key), str(error)))
            continue
        items.append(
            NewResult(
                project=where.project,
                change=where.change,
                patchset=where.patchset,
                revision=where.revision,
                branch=where.branch,
                job=job,
                value=value,
                url=info.url or None,
                duration=duration,
                voting=not info.abstain,
                category=info.category or None,
                rerun=bool(info.rerun),
                comment=info.comment or None,
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return items


def verify_status_router(
    service: ResultsService, auth: AuthDependencies, resolver: ChangeResolver
) -> APIRouter:
    router = APIRouter(tags=["verify-status plugin compatibility"], route_class=auth.guarded_route)

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
            known = await _known_ids(service, parsed, where)
            try:
                await service.report(account.name, to_new_results(parsed, where, known))
            except InvalidInputError as error:
                # The plugin answers 400, located by the client's own keys.
                problems = _by_key(error.problems, parsed)
                raise ResultsError(describe(problems), problems) from error
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def get(
        change: str,
        revision: str,
        _: Annotated[Caller, Depends(auth.reader)],
        sort: Sort | None = None,
        filter: Filter | None = None,
    ) -> Response:
        try:
            where = await resolver.resolve(change, revision)
        except UnknownChangeError:
            return _answer({})
        found = await service.change_results(where.change, patchset=where.patchset, current=False)
        chosen = select_verifications(found, sort, filter)
        return _answer({r.uuid: VerificationInfo.of(r) for r in chosen})

    for prefix in ("/a", ""):
        router.add_api_route(
            f"{prefix}{PATH}",
            get,
            methods=["GET"],
            summary="Read results",
            description="JSON after Gerrit's `)]}'` line, as the plugin answers.",
            response_model=dict[str, VerificationInfo],
            response_model_exclude_none=True,
        )
    return router


def _answer(found: dict[str, VerificationInfo]) -> Response:
    body = XSSI_PREFIX.encode() + _ANSWER.dump_json(found, exclude_none=True)
    return Response(body, media_type="application/json; charset=utf-8")


def _parse(body: Any) -> ParsedBody:
    """The plugin's map (with or without `name`), or Buildbot's one flat verification."""
    flat = isinstance(body, dict) and "verifications" not in body and "value" in body
    try:
        if flat:
            single = _SINGLE.validate_python(body)
            if not single.name:
                raise ResultsError(
                    "name: the job's name is required in a single verification",
                    [("name", "the job's name is required in a single verification")],
                )
            return ParsedBody(VerifyInput(verifications={single.name: single}), flat=True)
        return ParsedBody(_INPUT.validate_python(body))
    except ValidationError as error:
        problems = validation_problems(error.errors())
        if not isinstance(body, dict) or not body:
            problems = [("", _SHAPES)]
        raise ResultsError(describe(problems), problems) from error


_SHAPES = (
    'the body is not a verification: send {"verifications": {"JOB": {"value": 1, ...}}} '
    'as the verify-status plugin documents, or one verification {"name": "JOB", "value": 1}'
)


async def _known_ids(
    service: ResultsService, body: ParsedBody, where: PatchsetRef
) -> dict[str, str]:
    """Ids of results on the patchset -> jobs, when a key without a name may be one."""
    unnamed = [k for k, v in body.input.verifications.items() if not v.name]
    if not any(_RESULT_ID.match(key) for key in unnamed):
        return {}
    found = await service.change_results(where.change, patchset=where.patchset, current=False)
    return {r.uuid.replace("-", ""): r.job for r in found}


def _by_key(problems: Sequence[tuple[str, str]], body: ParsedBody) -> list[tuple[str, str]]:
    keys = list(body.input.verifications)
    located: list[tuple[str, str]] = []
    for where, message in problems:
        if where.startswith("verifications.") or (body.flat and "." not in where):
            located.append((where, message))
            continue
        index, _, field = where.partition("].")
        position = int(index.lstrip("[")) if index.lstrip("[").isdigit() else None
        key = keys[position] if position is not None else "?"
        located.append((body.where(key, field), message))
    return located
