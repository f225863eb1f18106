"""The access log of a web app: one line per HTTP request, and its metrics.

`GET /api/v1/status -> 200 in 3.1 ms from 127.0.0.1:51234` on the logger
`crosscheck.access`: INFO, or WARNING for refused credentials (401, 403) and
server errors. Headers are never read, so no Authorization header or cookie can
reach the log; the query string is left out (a client may put a token there), and
path segments that hold a secret (a webhook's token) are masked.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crosscheck.metrics import http_request_seconds, http_requests

log = logging.getLogger("crosscheck.access")

MASK = "***"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Answers logged at WARNING: refused credentials (someone probing, a token that
#: expired), and from 500 up, the server's own failures.
LOUD = (401, 403)
SERVER_ERROR = 500
#: Characters a logged path keeps as they are; anything else (a newline, a space) is
#: %-escaped, so one request is one line whatever its path.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"


class AccessLog:
    """ASGI middleware: `app.add_middleware(AccessLog, secret_paths=[...])`.

    Each pattern of `secret_paths` masks its first group's end: the text it matches
    after group 1 is replaced by `***` (`^(/webhooks/gerrit/[^/]+/)[^/]+`).
    """

    def __init__(self, app: ASGIApp, secret_paths: Iterable[re.Pattern[str]] = ()) -> None:
        self.app = app
        self.secret_paths = tuple(secret_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = str(scope.get("method", "?"))
        # Anyone may send any method: an unknown one is one label, so a client cannot
        # grow the metrics without bound.
        label = method if method in KNOWN_METHODS else "other"
        http_requests.labels(label, str(status)).inc()
        http_request_seconds.labels(label).observe(seconds)
        level = logging.WARNING if status in LOUD or status >= SERVER_ERROR else logging.INFO
        log.log(
            level,
            "%s %s -> %d in %.1f ms from %s",
            quote(method[:20], safe=""),
            self.logged_path(scope),
            status,
            seconds * 1000,
            _client(scope.get("client")),
        )

    def logged_path(self, scope: Scope) -> str:
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
        path = quote(path.partition("?")[0], safe=PATH_SAFE)
        for pattern in self.secret_paths:
            path = pattern.sub(lambda m: m.group(1) + MASK, path)
        return path


def _client(client: Any) -> str:
    if not client:
        return "-"
    host, port = client[0], client[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
