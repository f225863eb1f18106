"""Consoles over HTTP: public, as /logs/ is (no login), and nothing is ever written.

    GET /builds/{id}/console             the page: the log so far, then followed live
    GET /builds/{id}/console?raw         -> its console.log under /logs/
    GET /api/v1/builds/{id}              the build and its console's addresses (JSON)
    GET /api/v1/builds/{id}/console      its lines as plain text, as they are now (from=N)
    GET /api/v1/builds/{id}/console/events
                                         server-sent events (from=N, format=html|text):
                                         each line, then `end` (events.py)
    GET /static/console.js               the page's one script

The page of a finished build has no script and web's script-free policy. A running
build's page runs one script, allowed by a nonce rather than by `script-src 'self'`:
the same origin serves /logs/, where a build's artifacts are, so 'self' would let an
artifact `x.js` run here if an escaping bug ever let a `<script src>` through.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures.

import secrets
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.console.builds import (
    ConsoleBuild,
    ConsoleView,
    api_url,
    find,
    shown_id,
    state_of,
    state_text,
    view,
)
from crosscheck.console.events import HEARTBEAT, Format, stream
from crosscheck.console.follow import Line, Where, follow, lines_of
from crosscheck.console.hub import ConsoleHub
from crosscheck.console.lines import ShownLine, shown
from crosscheck.logs.router import SAFE_HEADERS
from crosscheck.web.rendering import SECURITY_HEADERS, Renderer

SCRIPT_PATH = "/static/console.js"
#: The page is sent in pieces of about this size: a long log starts showing at once.
PAGE_CHUNK = 64 * 1024
#: The lines a console page shows at most: the last ones (the plain text has them all).
PAGE_LINES = 20_000
#: And the characters it shows at most, of those lines.
PAGE_BYTES = 8 * 1024 * 1024
_NO_CACHE = {"Cache-Control": "no-cache"}
#: A Last-Event-ID longer than this is no line number of ours.
_MAX_ID_DIGITS = 12

FromLine = Annotated[
    int, Query(alias="from", ge=1, description="The first line wanted (1: the whole log)")
]


def console_router(
    engine: AsyncEngine, logs_root: Path, hub: ConsoleHub, prefix: str = ""
) -> APIRouter:
    """The consoles of the builds in `engine`'s store, whose logs are under `logs_root`;
    `hub` wakes followers when the executor writes a line."""
    router = APIRouter(tags=["consoles"])
    renderer = Renderer(prefix, templates_of="crosscheck.console")
    script = files("crosscheck.console").joinpath("static/console.js").read_bytes()

    async def found(build_id: str) -> ConsoleBuild:
        build = await find(engine, logs_root, build_id)
        if build is None:
            raise HTTPException(404, f"no build {shown_id(build_id)}")
        return build

    @router.get("/builds/{build_id}/console", response_class=HTMLResponse, include_in_schema=False)
    async def console_page(build_id: str, request: Request) -> Response:
        json_url = api_url(build_id, prefix)
        build = await find(engine, logs_root, build_id)
        if build is None:
            return renderer.not_found(
                f"There is no build {shown_id(build_id)}: `crosscheck status` links the "
                "running builds to their consoles.",
                json_url,
            )
        shown_view = view(build, prefix)
        if "raw" in request.query_params:
            if shown_view.console_log_url is None:
                return renderer.not_found(f"Build {build.row.id} has no console log.", json_url)
            return RedirectResponse(shown_view.console_log_url, status_code=307)
        nonce = secrets.token_urlsafe(18) if build.live else None
        context = {
            "json_url": json_url,
            "build": shown_view,
            "state_text": state_text(build),
            "has_log": build.path is not None and build.path.is_file(),
            "log": _PageLog(build.path, complete=not build.live, at_most=PAGE_LINES),
            "nonce": nonce,
            "script_url": f"{prefix}{SCRIPT_PATH}",
        }
        parts = renderer.environment.get_template("console.html").generate(**context)
        return StreamingResponse(
            _chunks(parts, PAGE_CHUNK),
            media_type="text/html; charset=utf-8",
            headers={**_page_headers(nonce), **_NO_CACHE},
        )

    @router.get(
        "/api/v1/builds/{build_id}",
        response_model=ConsoleView,
        responses={404: {"description": "No such build"}},
        summary="A build and the addresses of its console",
    )
    async def console_build(build_id: str) -> ConsoleView:
        return view(await found(build_id), prefix)

    @router.get(
        "/api/v1/builds/{build_id}/console",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/plain": {}}, "description": "The lines, as written"},
            404: {"description": "No such build"},
        },
        summary="A build's console lines from a line on, as they are now",
    )
    async def console_text(build_id: str, start: FromLine = 1) -> Response:
        build = await found(build_id)
        lines: Iterable[str] = ()
        if build.path is not None and build.path.is_file():
            lines = (
                f"{line.text}\n" for line in lines_of(build.path, start, complete=not build.live)
            )
        return StreamingResponse(
            _chunks(lines, PAGE_CHUNK),
            media_type="text/plain; charset=utf-8",
            headers={**SAFE_HEADERS, **_NO_CACHE},
        )

    @router.get(
        "/api/v1/builds/{build_id}/console/events",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "Lines, then end"},
            404: {"description": "No such build"},
        },
        summary="A build's console followed: each line as an event, then its end",
    )
    async def console_events(
        build_id: str,
        start: FromLine = 1,
        format: Format = Format.HTML,
        last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        build = await found(build_id)
        first = _resumed(last_event_id, start)

        async def locate() -> Where:
            now = await state_of(engine, logs_root, build.row.id)
            return Where(None, False) if now is None else Where(now.path, now.live)

        async def end() -> dict[str, Any]:
            now = await state_of(engine, logs_root, build.row.id) or build
            return {"state": str(now.row.state), "result": now.row.result, "detail": now.row.detail}

        async def frames() -> AsyncIterator[str]:
            with hub.watch(build.row.id) as watch:
                lines = follow(locate, watch, first, heartbeat=HEARTBEAT)
                async for text in stream(lines, format, end):
                    yield text

        return StreamingResponse(
            frames(),
            media_type="text/event-stream",
            # A buffering proxy (nginx) would hold the lines back: the whole point is lost.
            headers={**_NO_CACHE, "X-Accel-Buffering": "no"},
        )

    @router.get(SCRIPT_PATH, include_in_schema=False)
    async def console_script() -> Response:
        return Response(
            script,
            media_type="text/javascript; charset=utf-8",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=300"},
        )

    return router


class _PageLog:
    """The page's last `at_most` lines, read as the template renders them; `count` is the
    last line's number once read, for the script to follow on from, and `skipped` how
    many came before those shown. As Jenkins' console does: a build that printed a
    million lines would make a page of hundreds of megabytes that no browser opens;
    the plain text keeps them all."""

    def __init__(self, path: Path | None, *, complete: bool, at_most: int = PAGE_LINES) -> None:
        self._path = path
        self._complete = complete
        self._at_most = at_most
        self.count = 0
        self.skipped = 0

    def __iter__(self) -> Iterator[ShownLine]:
        if self._path is None:
            return
        try:
            last = self._last_lines(self._path)
        except FileNotFoundError:  # pruned between the look and the read
            return
        if last:
            self.count = last[-1].number
            self.skipped = last[0].number - 1
        for line in last:
            yield shown(line)

    def _last_lines(self, path: Path) -> deque[Line]:
        """The last lines, as many as `at_most` and PAGE_BYTES allow: a line of 400 MB
        (no newline) would otherwise be a page of 400 MB, held in memory per reader."""
        last: deque[Line] = deque()
        held = 0
        for line in lines_of(path, complete=self._complete):
            last.append(line)
            held += len(line.text)
            while len(last) > self._at_most or (held > PAGE_BYTES and len(last) > 1):
                held -= len(last.popleft().text)
        return last


def _resumed(last_event_id: str | None, start: int) -> int:
    """A reconnecting EventSource sends the last line it got: resume after it."""
    if last_event_id and last_event_id.isdigit() and len(last_event_id) <= _MAX_ID_DIGITS:
        return int(last_event_id) + 1
    return start


def _page_headers(nonce: str | None) -> dict[str, str]:
    if nonce is None:
        return SECURITY_HEADERS
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    return {
        **SECURITY_HEADERS,
        "Content-Security-Policy": f"{policy}; script-src 'nonce-{nonce}'; connect-src 'self'",
    }


def _chunks(parts: Iterable[str], size: int) -> Iterator[str]:
    """`parts` joined into pieces of about `size` characters: Starlette runs each step of
    a plain iterator in a worker thread, one hop per piece rather than per line."""
    buffered: list[str] = []
    length = 0
    for part in parts:
        buffered.append(part)
        length += len(part)
        if length >= size:
            yield "".join(buffered)
            buffered, length = [], 0
    if buffered:
        yield "".join(buffered)
