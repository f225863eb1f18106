"""Build logs over HTTP at stable URLs, without a login: `/logs/<log_url>...`.

Files are served as what they are (console.log as text/plain; `x.log.gz` as text
compressed in transit, so browsers show it inline); a directory is an HTML listing,
or JSON with `?format=json`. Nothing outside the logs root is ever served: `..` and
symbolic links leaving the root are 404, as a missing file is.

Artifacts are written by the code under test, so every response forbids scripts
(`Content-Security-Policy: sandbox`): an HTML report in the artifacts renders, but
cannot act as crosscheck's pages in the visitor's browser.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.responses import StreamingResponse

from crosscheck.logs.files import content_type, resolve
from crosscheck.logs.listing import as_html, as_json, entries

CHUNK = 65536
#: Sent with everything: the listing and every file.
SAFE_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def logs_router(root: Path, prefix: str = "/logs") -> APIRouter:
    """A router serving `root` under `prefix`."""
    router = APIRouter(prefix=prefix, tags=["logs"])

    @router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def logs_root(request: Request, format: str | None = None) -> Response:
        return _serve(root, "", request, format)

    async def logs_path(path: str, request: Request, format: str | None = None) -> Response:
        return _serve(root, path, request, format)

    # One route per method: a route with two methods documents both under one
    # operation id, which FastAPI warns about each time the OpenAPI document is built.
    router.add_api_route(
        "/{path:path}",
        logs_path,
        methods=["GET"],
        name="logs_path",
        operation_id="logs_path",
        summary="A build log file or directory",
    )
    router.add_api_route(
        "/{path:path}",
        logs_path,
        methods=["HEAD"],
        name="logs_path_head",
        include_in_schema=False,
    )
    return router


def _serve(root: Path, relative: str, request: Request, format: str | None) -> Response:
    target = resolve(root, relative)
    if target is None:
        raise HTTPException(status_code=404, detail="no such log file or directory")
    if target.is_dir():
        if relative and not relative.endswith("/"):
            # Relative links in the listing need the slash; keep the query string.
            location = (
                request.url.path + "/" + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(location, status_code=308, headers=SAFE_HEADERS)
        listed = entries(root, target)
        if format == "json":
            return JSONResponse(as_json(relative, listed), headers=SAFE_HEADERS)
        return HTMLResponse(as_html(relative, listed), headers=SAFE_HEADERS)
    if not target.is_file():
        raise HTTPException(status_code=404, detail="no such log file or directory")
    return _file(target, request)


def _file(path: Path, request: Request) -> Response:
    kind = content_type(path.name)
    if kind.encoding is None:
        return FileResponse(path, media_type=kind.media_type, headers=SAFE_HEADERS)
    headers = {**SAFE_HEADERS, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(path, media_type=kind.media_type, headers=headers)
    # A client that cannot decompress gets the content itself.
    return StreamingResponse(_gunzip(path), media_type=kind.media_type, headers=headers)


def _gunzip(path: Path) -> Iterator[bytes]:
    with gzip.open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
