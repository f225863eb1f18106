"""What Gerrit's Checks tab shows of one patchset: every CI's current results, the expected
CIs that have not reported, each CI's info page and rerun comment, in one request.

The plugin (checks/) polls this for the patchset on screen: the answer is kept until
the change or an account's page moves (checks_answers.py), so a poll is two small
reads, and a 304 for a browser that holds the answer.
"""

# No `from __future__ import annotations`: FastAPI must see the dependencies in the
# signatures of functions defined inside other functions.

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter

from crosscheck.http.kept_bodies import takes_gzip
from crosscheck.http.shaping import code_digest
from crosscheck.model.expected import ExpectedCIs
from crosscheck.model.results import CIAccount, Result
from crosscheck.results.api import PREFIX, ChangePath, PatchsetPath
from crosscheck.results.auth import AuthDependencies, Caller
from crosscheck.results.checks_answers import Asked, KeptChecks
from crosscheck.results.schemas import ResultOut
from crosscheck.results.service import ResultsService


@dataclass(frozen=True)
class ChecksSettings:
    expected: ExpectedCIs = field(default_factory=ExpectedCIs)
    rerun_comments: Mapping[str, str] = field(default_factory=dict)
    #: Where a change's page is below the service's base URL; None: no pages are mounted.
    page_path: Callable[[int], str] | None = None
    #: The service's public address; None: each request's own.
    base_url: str | None = None


class CheckCIOut(BaseModel):
    name: str
    info_url: str | None = Field(description="The CI's page, as its account says")
    expected: bool = Field(description="The project expects this CI on every patchset")
    rerun_comment: str | None = Field(description="The comment that makes this CI run again")
    results: list[ResultOut] = Field(description="Current results on the patchset, by job")


class ChecksOut(BaseModel):
    change: int
    patchset: int
    project: str | None
    page_url: str | None = Field(description="The change's page of every CI's results")
    cis: list[CheckCIOut]


_CHECKS: TypeAdapter[ChecksOut] = TypeAdapter(ChecksOut)


def checks_router(
    service: ResultsService, auth: AuthDependencies, settings: ChecksSettings
) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["results"])
    Reader = Annotated[Caller, Depends(auth.reader)]  # noqa: N806 -- a type alias
    kept = KeptChecks(service, _shaping(settings))

    @router.get(
        "/changes/{change}/patchsets/{patchset}/checks",
        summary="A patchset's CI runs for Gerrit's Checks tab, with the expected CIs missing",
        response_model=ChecksOut,
        responses={304: {"description": "The copy the request's If-None-Match names is current"}},
    )
    async def patchset_checks(
        change: ChangePath,
        patchset: PatchsetPath,
        request: Request,
        _: Reader,
        *,
        project: Annotated[
            str | None,
            Query(
                max_length=255,
                description="The change's project: whose expected CIs, and only its results",
            ),
        ] = None,
        if_none_match: Annotated[str | None, Header()] = None,
        accept_encoding: Annotated[str | None, Header()] = None,
    ) -> Response:
        # The base only shapes the link to the change's page: without pages it is not
        # part of the answer, nor of its key.
        base = "" if settings.page_path is None else settings.base_url or str(request.base_url)
        asked = Asked(change, patchset, project, base)

        async def make() -> bytes:
            return _CHECKS.dump_json(await patchset_answer(service, settings, asked))

        return await kept.answer(asked, make, if_none_match, takes_gzip(accept_encoding))

    return router


def _shaping(settings: ChecksSettings) -> Hashable:
    """What shapes every answer beside its results and accounts, for its entity tag."""
    rerun = tuple(sorted(settings.rerun_comments.items()))
    pages = None if settings.page_path is None else settings.page_path(1)
    return (code_digest(), settings.expected, rerun, pages, settings.base_url)


async def patchset_answer(
    service: ResultsService, settings: ChecksSettings, asked: Asked
) -> ChecksOut:
    """The Checks tab's answer to `asked`, read afresh."""
    found = await service.change_results(asked.change, patchset=asked.patchset)
    project = asked.project
    if project is not None:
        found = [result for result in found if result.project == project]
    else:
        project = found[-1].project if found else None
    accounts = {a.name: a for a in await service.accounts.list_accounts()}
    wanted = settings.expected.for_project(project) if project else ()
    page_url = None
    if settings.page_path is not None:
        page_url = asked.base.rstrip("/") + settings.page_path(asked.change)
    return ChecksOut(
        change=asked.change,
        patchset=asked.patchset,
        project=project,
        page_url=page_url,
        cis=ci_runs(found, wanted, accounts, settings.rerun_comments),
    )


def ci_runs(
    found: Sequence[Result],
    expected: Sequence[str],
    accounts: Mapping[str, CIAccount],
    rerun_comments: Mapping[str, str],
) -> list[CheckCIOut]:
    """Expected CIs first in the order written, reported or not; then the others by name."""
    by_ci: dict[str, list[Result]] = {name: [] for name in expected}
    for result in sorted(found, key=lambda r: (r.account, r.job)):
        by_ci.setdefault(result.account, []).append(result)
    others = sorted(name for name in by_ci if name not in expected)
    return [
        CheckCIOut(
            name=name,
            info_url=_info_url(accounts.get(name)),
            expected=name in expected,
            rerun_comment=rerun_comments.get(name),
            results=[ResultOut.of(result) for result in by_ci[name]],
        )
        for name in [*expected, *others]
    ]


def _info_url(account: CIAccount | None) -> str | None:
    return account.info_url or None if account is not None else None
