"""A body that is absent or not a JSON object is refused in the terms of the fix, not
pydantic's "valid dictionary or object to extract fields from"."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from crosscheck.http.errors import install_error_handlers


class Enqueue(BaseModel):
    pipeline: str
    change: int


def app() -> FastAPI:
    made = FastAPI()
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
