"""A body that is absent or not a JSON object is refused in the terms of the fix, not
pydantic's "valid dictionary or object to extract fields from"; our validators' words
come without pydantic's "Value error, " label."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, model_validator

from crosscheck.http.body_limit import BodyLimit
from crosscheck.http.errors import install_error_handlers


class Enqueue(BaseModel):
    pipeline: str
    change: int

    @model_validator(mode="after")
    def _known(self) -> Enqueue:
        if self.pipeline == "nowhere":
            raise ValueError("no pipeline 'nowhere': name one of the configuration's")
        return self


def app() -> FastAPI:
    """As serve's apps are made: the body limit, then the error handlers."""
    made = FastAPI()
    made.add_middleware(BodyLimit)
    install_error_handlers(made)

    @made.post("/api/v1/enqueue")
    async def enqueue(body: Enqueue) -> dict[str, str]:
        return {"pipeline": body.pipeline}

    return made


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("request_", "detail"),
    [
        ({"json": [1, 2]}, "body: expected a JSON object, got an array"),
        ({"content": b'"check"', "headers": JSON}, "body: expected a JSON object, got a string"),
        ({"content": b"null", "headers": JSON}, "body: expected a JSON object, got null"),
        ({"content": b"12", "headers": JSON}, "body: expected a JSON object, got a number"),
        ({"content": b"true", "headers": JSON}, "body: expected a JSON object, got true or false"),
        (
            {"data": {"pipeline": "check", "change": "1"}},
            "body: not read as JSON: send a JSON object with Content-Type: application/json",
        ),
        ({}, "body: the request has no body: send a JSON object"),
        ({"json": {"pipeline": "check"}}, "change: Field required"),
        (
            {"json": {"pipeline": "nowhere", "change": 1}},
            "body: no pipeline 'nowhere': name one of the configuration's",
        ),
    ],
)
async def test_a_body_that_is_no_json_object_says_what_to_send(
    request_: dict[str, Any], detail: str
) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://crosscheck") as http:
        answer = await http.post("/api/v1/enqueue", **request_)
    assert answer.status_code == 422
    assert answer.json()["detail"] == detail


async def test_a_compressed_body_is_refused_as_such_not_as_bad_utf8() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://crosscheck") as http:
        answer = await http.post(
            "/api/v1/enqueue",
            content=gzip.compress(b'{"pipeline": "check", "change": 1}'),
            headers={**JSON, "Content-Encoding": "gzip"},
        )
    assert answer.status_code == 415
    assert answer.json()["detail"] == (
        "body: Content-Encoding 'gzip' is not accepted: send it as is"
    )


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
async def test_a_body_said_compressed_is_refused_even_when_it_would_parse(encoding: str) -> None:
    """Read as it is, a body that says it is compressed would mean something other than
    what its sender meant: never stored."""
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://crosscheck") as http:
        answer = await http.post(
            "/api/v1/enqueue",
            content=b'{"pipeline": "check", "change": 1}',
            headers={**JSON, "Content-Encoding": encoding},
        )
    assert answer.status_code == 415
    assert answer.json()["errors"] == [
        {
            "field": "body",
            "message": f"Content-Encoding {encoding!r} is not accepted: send it as is",
        }
    ]
