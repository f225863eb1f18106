"""A store that does not answer, as an HTTP answer: 503 with `Retry-After`, not a 500
with a traceback for each request.

A database server restarting or down is the operator's to fix and the client's to
retry: a CI's report sent again later is stored. The log says so once a minute with
how many requests were turned away since, where each request had logged a traceback
of 150 lines (a fleet of CIs reporting would have written thousands a second).
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before it sends the request again.
RETRY_AFTER = 30
#: Seconds between two warnings of one outage.
SAY_EVERY = 60.0
#: The store's own failures to answer: a connection refused or lost, a server going
#: away, SQLite's file locked or unreadable. asyncpg raises OSError as it connects:
#: one is the store's when the database driver raised it (`is_store_outage`).
OUTAGES = (DBAPIError, OSError)
_DRIVERS = ("asyncpg", "aiosqlite", "sqlalchemy", "sqlite3")


class OutageLog:
    """The first turned-away request of an outage is a warning, then one a minute."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._said_at: float | None = None
        self._unsaid = 0

    def turned_away(self, reason: str) -> None:
        now = self._clock()
        if self._said_at is not None and now - self._said_at < SAY_EVERY:
            self._unsaid += 1
            return
        since = ""
        if self._unsaid:
            since = f"; {self._unsaid} more request(s) turned away since the last line"
        log.warning("the store does not answer (%s): requests get 503%s", reason, since)
        self._said_at, self._unsaid = now, 0


def install_outage_handler(app: FastAPI, outages: OutageLog | None = None) -> None:
    said = outages or OutageLog()

    async def unavailable(request: Request, error: Exception) -> Response:
        if not is_store_outage(error):
            raise error  # a file a route reads, say: the server error it is
        reason = store_reason(error)
        said.turned_away(reason)
        stored = "" if request.method in _READS else "nothing was stored; "
        detail = f"the store does not answer ({reason}): {stored}try again later"
        retry = {"Retry-After": str(RETRY_AFTER)}
        if _wants_html(request):
            return HTMLResponse(_outage_page(detail), 503, headers=retry | _PAGE_HEADERS)
        return JSONResponse({"detail": detail, "errors": []}, 503, headers=retry)

    for kind in OUTAGES:
        app.add_exception_handler(kind, unavailable)


#: Methods that store nothing: their refusal does not say that nothing was stored.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What the pages send (web/rendering.py's, which this leaf module may not import).
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _wants_html(request: Request) -> bool:
    """A browser reading a page (a GET or HEAD asking for text/html first, and not
    refusing it with q=0) gets a page; API clients and every write get JSON."""
    if request.method not in ("GET", "HEAD"):
        return False
    first = request.headers.get("accept", "").lower().split(",", 1)[0]
    kind, *parameters = (part.replace(" ", "") for part in first.split(";"))
    return kind == "text/html" and not any(_is_zero_q(p) for p in parameters)


def _is_zero_q(parameter: str) -> bool:
    """`q=0` (0.0, 0.000): the client refuses the type it names."""
    name, _, value = parameter.partition("=")
    return name == "q" and value.replace("0", "").replace(".", "") == "" and value != ""


def _outage_page(detail: str) -> str:
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<title>503 Service Unavailable</title><h1>Service unavailable</h1>"
        f"<p>{html.escape(detail)}</p><p>This page will answer again once the store "
        "does: reload it in a minute.</p></html>"
    )


def store_reason(error: BaseException) -> str:
    """The driver's words, without SQLAlchemy's statement and link (which can run to
    pages): `connection is closed`, `[Errno 111] Connection refused`."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


def is_store_outage(error: BaseException) -> bool:
    """An outage of the store: not a refused statement (a constraint, a bad value),
    which stays the server error it is."""
    if isinstance(error, DBAPIError):
        # A lost connection is said by the driver as the dialect sees it: invalidated.
        return error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError))
    frame = error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_globals.get("__name__", "").startswith(_DRIVERS):
            return True
        frame = frame.tb_next
    return False
