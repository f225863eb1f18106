"""Request bodies have a ceiling, checked before a body is read whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from crosscheck.http.body_limit import BodyLimit

LIMIT = 1000


class Note(BaseModel):
    text: str


def app_with_a_route() -> tuple[FastAPI, list[str]]:
    app = FastAPI()
    app.add_middleware(BodyLimit, limit=LIMIT)
    stored: list[str] = []

    @app.post("/notes")
    async def post_note(note: Note) -> dict[str, int]:
        stored.append(note.text)
        return {"stored": len(stored)}

    return app, stored


async def post(app: FastAPI, content: bytes | AsyncIterator[bytes]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        headers = {"Content-Type": "application/json"}
        return await http.post("/notes", content=content, headers=headers)


def note(size: int) -> bytes:
    return b'{"text": "' + b"x" * (size - 12) + b'"}'


async def test_a_body_within_the_limit_is_read() -> None:
    app, stored = app_with_a_route()
    answer = await post(app, note(LIMIT))
    assert answer.status_code == 200, answer.text
    assert len(stored) == 1


async def test_a_body_declared_too_large_is_refused_before_it_is_read() -> None:
    app, stored = app_with_a_route()
    answer = await post(app, note(LIMIT + 1))
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("the request body is larger than ")
    assert stored == []


async def test_a_chunked_body_is_refused_once_it_grows_past_the_limit() -> None:
    app, stored = app_with_a_route()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(100):
            yield b" " * 100

    answer = await post(app, chunks())
    assert answer.status_code == 413
    assert stored == []
