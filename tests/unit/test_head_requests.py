"""HEAD runs the GET route and sends its head only: uptime checkers send HEAD."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from crosscheck.http.head_requests import HeadAsGet


def app() -> FastAPI:
    made = FastAPI()
    made.add_middleware(HeadAsGet)

    @made.get("/page")
    async def page() -> dict[str, str]:
        return {"hello": "world"}

    @made.post("/write")
    async def write() -> dict[str, str]:
        return {}

    @made.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"line {n}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    return made


async def test_head_is_the_get_without_its_body() -> None:
    transport = httpx.ASGITransport(app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        got = await http.get("/page")
        head = await http.head("/page")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"] != "0"
        assert head.headers["content-type"] == got.headers["content-type"]
        streamed = await http.head("/stream")
        assert (streamed.status_code, streamed.content) == (200, b"")
        # Only GET routes: a write stays refused, and unknown paths stay 404.
        assert (await http.head("/write")).status_code == 405
        # A 405 names HEAD beside GET, since HEAD is answered wherever GET is.
        refused = await http.post("/page")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
        assert (await http.head("/write")).headers["allow"] == "POST"
        assert (await http.head("/nowhere")).status_code == 404
        assert (await http.post("/write")).status_code == 200
