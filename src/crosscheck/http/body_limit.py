"""A ceiling on request bodies, checked before a body is read whole; and no compressed
body, read as if it were not.

FastAPI reads and parses a JSON body before any dependency runs, so without a ceiling
anyone could make the service hold and parse a body of any size before its token is
looked at (a 27 MB one cost 3.6 s of CPU and 90 MB that stayed resident). The largest
legitimate body is a full batch of results (1,000, each with a 10,000-character
comment): about 13 MB.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Bytes a request body may hold: a full batch of results with room to spare.
MAX_BODY_BYTES = 16 * 1024 * 1024


class BodyTooLargeError(HTTPException):
    """Raised from the body's reading: the app's HTTPException handler answers it."""

    def __init__(self, limit: int) -> None:
        mib = limit / (1024 * 1024)
        super().__init__(413, f"the request body is larger than {mib:g} MiB")


class BodyEncodedError(HTTPException):
    """Raised from the body's reading: a compressed body is never read as it is."""

    def __init__(self, encoding: str) -> None:
        super().__init__(415, f"Content-Encoding {encoding!r} is not accepted: send it as is")


class BodyLimit:
    """ASGI middleware: a body declared or found larger than `limit` bytes is refused
    (413) without reading the rest of it; a compressed one (Content-Encoding) too (415),
    whether or not its bytes would parse as they are."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = _declared_encoding(scope)
        if encoding:
            receive = _refusing(BodyEncodedError(encoding))
        elif _declared_length(scope) > self.limit:
            # Refused through the app, so the answer has its usual shape and log line.
            receive = _refusing(BodyTooLargeError(self.limit))
        else:
            receive = _counting(receive, self.limit)
        await self.app(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the HTTP parser refuses such a request before it gets here
    return 0


def _declared_encoding(scope: Scope) -> str:
    """The body's Content-Encoding, when it is not the body as it is."""
    for name, value in scope["headers"]:
        if name == b"content-encoding":
            encoding = value.decode("latin-1").strip().lower()
            return "" if encoding == "identity" else encoding
    return ""


def _refusing(error: HTTPException) -> Receive:
    async def receive() -> Message:
        raise error

    return receive


def _counting(receive: Receive, limit: int) -> Receive:
    read = 0

    async def counted() -> Message:
        nonlocal read
        message = await receive()
        if message["type"] == "http.request":
            read += len(message.get("body", b""))
            if read > limit:
                raise BodyTooLargeError(limit)
        return message

    return counted
