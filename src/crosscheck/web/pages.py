"""The pages as a FastAPI router: HTML for people, the same data as JSON under /json/.

    /health               CI health table            /json/health
    /changes/{change}     patchsets x CIs x jobs     /json/changes/{change}
    /cis/{account}        history and success plot   /json/cis/{account}
    /cis/{account}/success.svg   the plot alone

No login: reading pages is public. Templates autoescape everything, and a
Content-Security-Policy without any script source backs that up.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures.

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import TypeAdapter
from pydantic_core import to_json

from crosscheck.config.pages import PagesSettings
from crosscheck.http.errors import LocatedHTTPError, error_responses
from crosscheck.http.kept_bodies import KeptBodies, KeptBody, not_modified, takes_gzip
from crosscheck.results.activity import Activity
from crosscheck.results.errors import AccountNotFoundError
from crosscheck.results.reads import ChangeVersion, Cursor, change_results, change_version
from crosscheck.results.records import day_number
from crosscheck.results.schemas import MAX_GERRIT_INT
from crosscheck.results.service import ResultsService
from crosscheck.web.etags import change_etag, html_etag, settings_tag
from crosscheck.web.health import (
    FLAGGED_VALUES,
    ORDERS,
    SORT_KEYS,
    HealthQueryError,
    parse_health_query,
    select_rows,
)
from crosscheck.web.plot import Plot, success_plot
from crosscheck.web.rendering import SECURITY_HEADERS, Renderer
from crosscheck.web.snapshots import Snapshot, Snapshots
from crosscheck.web.views import (
    LISTED_PROJECTS,
    TREND_DAYS,
    AccountPage,
    ChangePage,
    HealthExtras,
    HealthPage,
    HealthQuery,
    HealthRow,
    TrendDay,
    account_page,
    change_document,
    daily_rate,
    date_of_day,
    health_page,
    health_row,
    page_of_json,
)

MAX_PLOT_DAYS = 365
#: A day of the health table's trend window: its number, its date, its entry when quiet.
_TrendSlot = tuple[int, date, TrendDay]
Days = Annotated[int | None, Query(ge=1, le=MAX_PLOT_DAYS, description="Days the plot covers")]
ChangePath = Annotated[int, Path(ge=1, le=MAX_GERRIT_INT, description="The change number")]
#: Result ids in a page cursor are 64-bit integers in the store.
MAX_RESULT_ID = 2**63 - 1
Before = Annotated[
    str | None, Query(description="The cursor of an older history page, from `next_page`")
]
# Plain strings, checked by health.py: a wrong value gets a 400 naming the accepted ones
# (the same on the page and its JSON twin) rather than FastAPI's 422.
Sort = Annotated[
    str | None,
    Query(description=f"Sort by: {', '.join(SORT_KEYS)} (default status: flagged first)"),
]
Order = Annotated[str | None, Query(description=f"{' or '.join(ORDERS)} (default asc)")]
TextFilter = Annotated[
    str | None, Query(description="Only accounts whose name, driver or owner holds this text")
]
ProjectFilter = Annotated[
    str | None, Query(description="Only accounts that reported on a project holding this text")
]
Flagged = Annotated[
    str | None,
    Query(description=f"{' or '.join(FLAGGED_VALUES)}: 1 keeps flagged accounts only"),
]


# The twins serialise straight from the views, which are typed already: FastAPI would
# validate them again through the response model first (kept for the OpenAPI schema).
_HEALTH = TypeAdapter(HealthPage)
_ACCOUNT = TypeAdapter(AccountPage)


def _json(adapter: TypeAdapter[Any], page: object) -> Response:
    return Response(adapter.dump_json(page), media_type="application/json")


def _asked_health(
    sort: Sort = None,
    order: Order = None,
    q: TextFilter = None,
    project: ProjectFilter = None,
    flagged: Flagged = None,
) -> HealthQuery | HealthQueryError:
    """The table's query, or what is wrong with it: the page and its twin answer differently."""
    try:
        return parse_health_query(sort, order, q, project, flagged)
    except HealthQueryError as error:
        return error


AskedHealth = Annotated[HealthQuery | HealthQueryError, Depends(_asked_health)]


#: Makes a page's bytes from its view, with the parts its snapshot keeps rendered.
Renders = Callable[[HealthPage, dict[Hashable, Any]], bytes]


@dataclass(frozen=True)
class _HealthTable:
    """Every account's row as read at `generated_at`; the suggestions for the project
    filter when the rows list only a few projects each."""

    generated_at: datetime
    rows: list[HealthRow]
    suggestions: list[str] | None


def _health_page(table: _HealthTable, query: HealthQuery) -> HealthPage:
    shown = select_rows(table.rows, query)
    return health_page(table.rows, table.generated_at, query, shown, table.suggestions)


class PageNotFoundError(Exception):
    """What a page asked for does not exist; the message says what."""


class BadPageRequestError(Exception):
    """A page's query is malformed (a hand-edited cursor); the message says how to fix it."""


class Pages:
    """Reads through the results service and shapes the views; the routes only choose
    HTML or JSON."""

    def __init__(
        self,
        service: ResultsService,
        settings: PagesSettings,
        health_ready: Callable[[Snapshot[_HealthTable]], None] | None = None,
    ) -> None:
        """`health_ready` prepares each snapshot of the health table before it is served."""
        self.service = service
        self.settings = settings
        self._settings_tag = settings_tag(settings)
        self.change_bodies = KeptBodies()
        #: The change pages' HTML, made from those bodies.
        self.change_pages = KeptBodies()
        self._health: Snapshots[bool, _HealthTable] = Snapshots(
            self._health_table,
            service.activity.version,
            policy=settings.health_snapshots,
            ready=health_ready,
            name="health table",
        )

    async def change(self, change: int, version: ChangeVersion | None = None) -> KeptBody:
        """The change page's JSON bytes (`change_document`'s) and its entity tag: kept
        while the change has no new result (http/kept_bodies.py). `version`: the
        change's, as the caller just read it (`change_version`)."""
        async with self.service.engine.connect() as connection:
            if version is None:
                version = await change_version(connection, change)
            kept = None if version is None else self.change_bodies.get(change, version)
            if kept is not None:
                return kept
            found = await change_results(connection, change)
        if found is None:
            raise PageNotFoundError(f"no CI has reported a result on change {change}")
        expected = self.settings.expected_cis.for_project(found.project)
        document = change_document(change, found, expected, self.settings.gerrit_url)
        etag = change_etag(found.version, self._settings_tag)
        made = KeptBody(found.version, to_json(document), etag)
        self.change_bodies.keep(change, made)
        return made

    async def change_page(
        self, change: int, render: Callable[[bytes], str], version: ChangeVersion | None = None
    ) -> KeptBody:
        """The change page's HTML, `render`ed from its JSON bytes and kept with them."""
        if version is not None:
            kept = self.change_pages.get(change, version)
            if kept is not None:
                return kept
        source = await self.change(change, version)
        kept = self.change_pages.get(change, source.version)
        if kept is not None:
            return kept
        # In a thread: a page of thousands of results takes tens of milliseconds to
        # render, and the loop goes on meanwhile (between the GIL's switches).
        html = await asyncio.to_thread(render, source.body)
        made = KeptBody(
            source.version,
            html.encode(),
            html_etag(source.etag),
            media_type="text/html; charset=utf-8",
            headers=SECURITY_HEADERS,
        )
        self.change_pages.keep(change, made)
        return made

    async def change_version(self, change: int) -> ChangeVersion | None:
        """The change's version without reading its results; None without any."""
        async with self.service.engine.connect() as connection:
            return await change_version(connection, change)

    def change_etag(self, version: ChangeVersion) -> str:
        return change_etag(version, self._settings_tag)

    async def health_body(self, query: HealthQuery, kind: str, render: Renders) -> bytes:
        """The table as `render` makes it for `query`: made once per snapshot."""
        snapshot = await self._health_snapshot(query)
        page = lambda: render(_health_page(snapshot.value, query), snapshot.parts)  # noqa: E731
        return snapshot.body((kind, query), page)

    async def _health_snapshot(self, query: HealthQuery) -> Snapshot[_HealthTable]:
        # The project filter looks at every project of each account; the plain table
        # lists a few of each.
        return await self._health.get(bool(query.project))

    async def _health_table(self, every_project: bool) -> _HealthTable:
        now = datetime.now(UTC)
        activity = self.service.activity
        if every_project:
            every = await activity.every(now, TREND_DAYS)
            suggestions = None
        else:  # a few listed of each, their count, and the month's for the filter
            every = await activity.every(now, TREND_DAYS, listed=LISTED_PROJECTS)
            suggestions = await activity.projects(now, TREND_DAYS)
        days = _trend_days(now)
        return _HealthTable(now, [self._row(item, now, days) for item in every], suggestions)

    def _row(self, activity: Activity, now: datetime, days: Sequence[_TrendSlot]) -> HealthRow:
        extras = HealthExtras(
            account=activity.account,
            projects=activity.projects,
            project_count=activity.project_count,
            merged=activity.merged,
            latest=activity.latest,
            trend=_trend(activity.daily, days),
            gerrit_base=self.settings.gerrit_url,
        )
        return health_row(activity.statistics, now, extras)

    async def account(self, name: str, before: str | None, days: int | None) -> AccountPage:
        now = datetime.now(UTC)
        cursor = _cursor(before)
        days = days or self.settings.plot_days
        try:
            found = await self.service.activity.of_account(
                name,
                now,
                TREND_DAYS,
                page_size=self.settings.page_size,
                before=cursor,
                daily_days=days,
            )
        except AccountNotFoundError as error:
            raise PageNotFoundError(str(error)) from error
        return account_page(
            found.activity.account,
            self._row(found.activity, now, _trend_days(now)),
            found.history,
            next_page=found.next_page.encode() if found.next_page else None,
            days=days,
            daily=[daily_rate(c.day, c.passed, c.final) for c in found.daily],
        )


def _trend_days(now: datetime) -> list[_TrendSlot]:
    """The trend window's days, worked out once per page rather than once per row."""
    first_day = day_number(now) - TREND_DAYS + 1
    slots = []
    for day in range(first_day, first_day + TREND_DAYS):
        on = date_of_day(day)
        slots.append((day, on, TrendDay(on, 0, 0)))
    return slots


def _trend(counts: Mapping[int, tuple[int, int]], days: Sequence[_TrendSlot]) -> list[TrendDay]:
    """One entry per day of the window, quiet days as zeros: a sparkline point per day.
    Quiet days share one (immutable) entry per date."""
    return [TrendDay(on, *counts[day]) if day in counts else quiet for day, on, quiet in days]


def _cursor(before: str | None) -> Cursor | None:
    if before is None:
        return None
    try:
        cursor = Cursor.decode(before)
    except ValueError as error:
        raise BadPageRequestError(str(error)) from error
    if not 0 <= cursor.id <= MAX_RESULT_ID:
        raise BadPageRequestError(
            f"page cursor {before!r} is out of range: follow the page's links"
        )
    return cursor


def pages_router(
    service: ResultsService, settings: PagesSettings | None = None, prefix: str = ""
) -> APIRouter:
    """Every page and its JSON twin; `prefix` is where the router is mounted ("" or "/ci")."""
    renderer = Renderer(prefix)
    health = _HealthRenders(renderer)
    pages = Pages(service, settings or PagesSettings(), health.rows_rendered)
    router = APIRouter(prefix=prefix, tags=["pages"])

    @router.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{prefix}/health")

    @router.get("/health", include_in_schema=False)
    async def health_html(request: Request, query: AskedHealth) -> HTMLResponse:
        json_url = f"{prefix}/json/health"
        if request.url.query:
            json_url += f"?{request.url.query}"
        if isinstance(query, HealthQueryError):
            return renderer.error(400, "Bad request", str(query), json_url)
        body = await pages.health_body(query, json_url, health.html(json_url))
        return HTMLResponse(body, headers=SECURITY_HEADERS)

    @router.get(
        "/json/health",
        summary="CI health: per CI account, its driver, projects, counts, votes on merged "
        "changes, latest run and 30-day trend; sorted and filtered as asked",
        responses=error_responses(400),
        response_model=HealthPage,
    )
    async def health_json(query: AskedHealth) -> Response:
        if isinstance(query, HealthQueryError):
            problem = (f"{query.parameter} (query parameter)", query.message)
            raise LocatedHTTPError(400, str(query), [problem])
        body = await pages.health_body(query, "json", lambda page, _: _HEALTH.dump_json(page))
        return Response(body, media_type="application/json")

    @router.get("/changes/{change}", include_in_schema=False)
    async def change_html(
        change: ChangePath,
        if_none_match: Annotated[str | None, Header()] = None,
        accept_encoding: Annotated[str | None, Header()] = None,
    ) -> Response:
        json_url = f"{prefix}/json/changes/{change}"

        def render(body: bytes) -> str:
            return renderer.render("change.html", json_url=json_url, page=page_of_json(body))

        gzipped = takes_gzip(accept_encoding)
        try:
            return await _change_answer(pages, change, if_none_match, gzipped, render)
        except PageNotFoundError as error:
            return renderer.not_found(str(error), json_url)

    @router.get(
        "/json/changes/{change}",
        summary="A change's current results: patchsets x CI accounts x jobs, and missing CIs",
        responses=error_responses(404) | _NOT_MODIFIED,
        response_model=ChangePage,
    )
    async def change_json(
        change: ChangePath,
        if_none_match: Annotated[str | None, Header()] = None,
        accept_encoding: Annotated[str | None, Header()] = None,
    ) -> Response:
        gzipped = takes_gzip(accept_encoding)
        try:
            return await _change_answer(pages, change, if_none_match, gzipped)
        except PageNotFoundError as error:
            raise HTTPException(404, str(error)) from error

    @router.get("/cis/{account}", include_in_schema=False)
    async def account_html(account: str, before: Before = None, days: Days = None) -> HTMLResponse:
        json_url = f"{prefix}/json/cis/{quote(account, safe='')}"
        try:
            page = await pages.account(account, before, days)
        except PageNotFoundError as error:
            return renderer.not_found(str(error), json_url)
        except BadPageRequestError as error:
            return renderer.error(400, "Bad request", str(error), json_url)
        plot = _plot(page)
        return renderer.page("account.html", json_url, page=page, plot=plot)

    @router.get(
        "/json/cis/{account}",
        summary="A CI account's history (newest first, paged) and daily success rates",
        responses=error_responses(400, 404),
        response_model=AccountPage,
    )
    async def account_json(account: str, before: Before = None, days: Days = None) -> Response:
        try:
            return _json(_ACCOUNT, await pages.account(account, before, days))
        except PageNotFoundError as error:
            raise HTTPException(404, str(error)) from error
        except BadPageRequestError as error:
            raise HTTPException(400, str(error)) from error

    @router.get("/cis/{account}/success.svg", include_in_schema=False)
    async def account_svg(account: str, days: Days = None) -> Response:
        try:
            page = await pages.account(account, None, days)
        except PageNotFoundError as error:
            raise HTTPException(404, str(error)) from error
        return renderer.svg(page=page, plot=_plot(page))

    return router


_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The copy whose ETag the request's If-None-Match names is current"}
}


class _HealthRenders:
    """The health table's HTML: its rows rendered once per snapshot, as it is taken (a
    refresh behind the readers does it, and no reader waits for it), then joined in
    each order and filter asked for."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self._health_row: Callable[[HealthRow], Markup] | None = None

    def health_row(self, row: HealthRow) -> Markup:
        if self._health_row is None:
            self._health_row = self.renderer.macro("_health_row.html", "health_row")
        return self._health_row(row)

    def rows_rendered(self, snapshot: Snapshot[_HealthTable]) -> None:
        # By identity: a row is a frozen dataclass holding lists, so it has no hash. The
        # row is kept beside its rendering so that its id is not reused meanwhile.
        for row in snapshot.value.rows:
            snapshot.parts[id(row)] = (row, self.health_row(row))

    def html(self, json_url: str) -> Renders:
        def render(page: HealthPage, parts: dict[Hashable, Any]) -> bytes:
            row_html = _rendered(parts, self.health_row)
            html = self.renderer.render(
                "health.html", json_url=json_url, page=page, row_html=row_html
            )
            return html.encode()

        return render


def _rendered(
    parts: dict[Hashable, Any], make: Callable[[HealthRow], Markup]
) -> Callable[[HealthRow], Markup]:
    """A snapshot's row as `rows_rendered` rendered it; any other (a project filter
    lists other projects of a row, in a row of its own) rendered now and not kept, so
    that no query adds to what a snapshot holds."""

    def row_html(row: HealthRow) -> Markup:
        kept = parts.get(id(row))
        if kept is not None and kept[0] is row:
            rendered: Markup = kept[1]
            return rendered
        return make(row)

    return row_html


async def _change_answer(
    pages: Pages,
    change: int,
    if_none_match: str | None,
    gzipped: bool,
    render: Callable[[bytes], str] | None = None,
) -> Response:
    """The change's JSON twin, or with `render` its page: a 304 for a current copy, else
    its kept bytes, gzipped for a client that takes gzip. The change's version is looked
    up once for both. PageNotFoundError when no CI has reported on it."""
    version = None
    if if_none_match is not None:
        version = await pages.change_version(change)
        if version is not None:
            etag = pages.change_etag(version)
            page = render is not None
            held = not_modified(
                if_none_match,
                html_etag(etag) if page else etag,
                gzipped,
                SECURITY_HEADERS if page else {},
            )
            if held is not None:
                return held
    if render is None:
        return pages.change_bodies.answer(change, await pages.change(change, version), gzipped)
    made = await pages.change_page(change, render, version)
    return pages.change_pages.answer(change, made, gzipped)


def _plot(page: AccountPage) -> Plot:
    last = datetime.now(UTC).date()
    return success_plot(page.daily, last - timedelta(days=page.days - 1), last)
