"""A store that does not answer, as an HTTP answer: 503 with `Retry-After`, not a 500
with a traceback for each request.

A database server restarting or down is the operator's to fix and the client's to
retry: a CI's report sent again later is stored. The log says so once a minute with
how many requests were turned away since, where each request had logged a traceback
of 150 lines (a fleet of CIs reporting would have written thousands a second).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from crosscheck.http.html_errors import error_page, reads_a_page

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
        if reads_a_page(request):
            advice = "This page will answer again once the store does: reload it in a minute."
            return error_page(503, "Service unavailable", detail, advice, retry)
        return JSONResponse({"detail": detail, "errors": []}, 503, headers=retry)

    for kind in OUTAGES:
        app.add_exception_handler(kind, unavailable)


#: Methods that store nothing: their refusal does not say that nothing was stored.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


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
