"""HEAD answered as GET without its body, on every route that answers GET.

FastAPI's GET routes do not take HEAD (405), and uptime checkers, link checkers and
`curl -I` send HEAD: a monitor pointed at /health saw the service as down. The route
runs as for a GET, so the status and headers (Content-Length, ETag) are the GET's.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHOD_NOT_ALLOWED = 405


class HeadAsGet:
    """ASGI middleware: a HEAD request runs the GET route; only its head is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "HEAD":
            await self.app(scope, receive, _allowing_head(send))
            return
        ended = False

        async def head_only(message: Message) -> None:
            nonlocal ended
            if message["type"] != "http.response.body":
                await send(message)
            elif not ended:
                # A streaming route's later chunks are dropped: the client, which
                # reads no body, ends it by closing the connection.
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(dict(scope, method="GET"), receive, head_only)


def _allowing_head(send: Send) -> Send:
    """A 405's `Allow` names HEAD wherever it names GET: HEAD is answered there too."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == METHOD_NOT_ALLOWED:
            headers = [
                (name, value + b", HEAD")
                if name.lower() == b"allow" and b"GET" in value and b"HEAD" not in value
                else (name, value)
                for name, value in message.get("headers", [])
            ]
            message = {**message, "headers": headers}
        await send(message)

    return sending
