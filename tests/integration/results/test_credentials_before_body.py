"""Every route that takes a body judges the credentials first, even when the body is
not JSON (FastAPI reads it before any dependency): a caller without the right to
send learns nothing of the body's shape."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.integration.results.api_harness import ADMIN_TOKEN, Harness, bearer, harness

NOT_JSON = b"{this is not json"
#: Bodies refused before the route's own parameters are read: not JSON (FastAPI's
#: 422), a NUL character or a lone surrogate (the router's storable check, 422), not
#: UTF-8 or nested too deep (FastAPI's 400).
BROKEN_BODIES = [
    NOT_JSON,
    b'{"name": "a\\u0000b", "project": "a\\ud800"}',
    b'{"name": "\xff"}',
    b"[" * 5000 + b"]" * 5000,
]


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


async def routes_with_a_body(api: Harness) -> list[tuple[str, str]]:
    """Every operation of the API that takes a body, as its OpenAPI document says."""
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]


async def send(
    api: Harness, method: str, path: str, headers: dict[str, str], content: bytes = NOT_JSON
) -> int:
    headers = headers | {"Content-Type": "application/json"}
    answer = await api.http.request(method, path, content=content, headers=headers)
    return answer.status_code


async def test_a_body_that_is_not_json_is_refused_to_a_stranger_for_its_credentials(
    api: Harness,
) -> None:
    routes = await routes_with_a_body(api)
    assert ("POST", "/api/v1/results") in routes
    assert ("POST", "/api/v1/accounts") in routes
    assert len(routes) >= 8, routes
    refused = {route: await send(api, *route, {}) for route in routes}
    assert refused == dict.fromkeys(routes, 401)
    wrong = {route: await send(api, *route, bearer("not-a-token")) for route in routes}
    assert wrong == dict.fromkeys(routes, 401)


@pytest.mark.parametrize("content", BROKEN_BODIES[1:], ids=["nul", "not-utf8", "deep"])
async def test_a_body_that_cannot_be_stored_or_parsed_is_refused_to_a_stranger_first(
    api: Harness, content: bytes
) -> None:
    token = await api.account("Nova CI")
    routes = await routes_with_a_body(api)
    refused = {route: await send(api, *route, {}, content) for route in routes}
    assert refused == dict.fromkeys(routes, 401)
    allowed = await send(api, "POST", "/api/v1/results", bearer(token), content)
    assert allowed in (400, 422)


async def test_a_compressed_body_is_refused_to_a_stranger_for_its_credentials(
    api: Harness,
) -> None:
    token = await api.account("Nova CI")
    routes = await routes_with_a_body(api)
    gzipped = {"Content-Encoding": "gzip"}
    refused = {route: await send(api, *route, gzipped, b"{}") for route in routes}
    assert refused == dict.fromkeys(routes, 401)
    assert await send(api, "POST", "/api/v1/accounts", bearer(token) | gzipped, b"{}") == 403
    allowed = await send(api, "POST", "/api/v1/results", bearer(token) | gzipped, b"{}")
    assert allowed == 415


async def test_the_body_is_judged_for_a_caller_allowed_to_send_it(api: Harness) -> None:
    token = await api.account("Nova CI")
    assert await send(api, "POST", "/api/v1/results", bearer(token)) == 422
    assert await send(api, "POST", "/api/v1/results/batch", bearer(token)) == 422
    assert await send(api, "POST", "/api/v1/accounts", bearer(ADMIN_TOKEN)) == 422
    # The admin token manages accounts, it does not report results: 403 says so first.
    assert await send(api, "POST", "/api/v1/results", bearer(ADMIN_TOKEN)) == 403
    # A CI account's token is no admin's.
    assert await send(api, "POST", "/api/v1/accounts", bearer(token)) == 403


async def test_a_remembered_token_rotated_since_is_refused_before_a_broken_body(
    api: Harness,
) -> None:
    token = await api.account("Nova CI")
    result = {"project": "openstack/nova", "change": 1, "patchset": 1, "job": "j"}
    first = await api.http.post("/api/v1/results", json=result | {"value": "passed"},
                                headers=bearer(token))  # fmt: skip
    assert first.status_code == 201, first.text
    await api.service.accounts.rotate_token("Nova CI")
    assert await send(api, "POST", "/api/v1/results", bearer(token)) == 401
