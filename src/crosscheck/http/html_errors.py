"""An error as a browser reading a page should see it: a small HTML page, escaped.

The service's errors are JSON (`{"detail", "errors"}`), which a dashboard or a CI's
client reads. A person who followed a link to a page, or edited its query string,
gets the same status with the same words as a page instead. Which one asked is told
by the request: a GET or HEAD whose Accept names text/html first and does not refuse
it (q=0), of a page (a route the OpenAPI document leaves out). Writes always get JSON:
no browser form posts to this service.
"""

from __future__ import annotations

import html

from fastapi import Request
from fastapi.responses import HTMLResponse

#: What the pages send (web/rendering.py's, which this leaf module may not import).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def wants_html(request: Request) -> bool:
    """A browser reading a page: a GET or HEAD asking for text/html first, not with q=0."""
    if request.method not in ("GET", "HEAD"):
        return False
    first = request.headers.get("accept", "").lower().split(",", 1)[0]
    kind, *parameters = (part.replace(" ", "") for part in first.split(";"))
    return kind == "text/html" and not any(refuses(p) for p in parameters)


def reads_a_page(request: Request) -> bool:
    """A browser reading one of the pages: a route left out of the OpenAPI document. The
    documented routes (the JSON twins, the API) answer JSON wherever they are read from."""
    route = request.scope.get("route")
    return wants_html(request) and getattr(route, "include_in_schema", True) is False


def refuses(parameter: str) -> bool:
    """`q=0` (0.0, 0.000), in an Accept or Accept-Encoding: the client refuses what the
    entry names."""
    name, _, value = parameter.replace(" ", "").partition("=")
    return name == "q" and value != "" and value.replace("0", "").replace(".", "") == ""


def error_page(
    status: int, title: str, detail: str, advice: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """`detail` (the JSON's words) and `advice` on a page, every word escaped."""
    body = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{status} "
        f"{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(detail)}</p><p>{html.escape(advice)}</p></html>"
    )
    return HTMLResponse(body, status, headers=(headers or {}) | PAGE_HEADERS)
