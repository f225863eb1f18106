"""What the OpenAPI fuzz found, pinned: no input reaches a 500, on SQLite and PostgreSQL.

Each case was a 500 before (an integer the store cannot hold, a string it cannot
encode); each is now a 4xx with the service's error body naming the field.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.results.api_harness import ADMIN_TOKEN, Harness, bearer, harness
from tests.integration.results.helpers import plugin_json, stored_count

RESULT: dict[str, Any] = {
    "project": "openstack/nova",
    "change": 1234,
    "patchset": 2,
    "job": "tempest-full",
    "value": "passed",
}
TOO_BIG = 2**63  # past SQLite's INTEGER; 2**31 was past PostgreSQL's integer already


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


def fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("change", "patchset", "field"),
    [
        (TOO_BIG, 1, "change"),
        (2**31, 1, "change"),
        (1, TOO_BIG, "patchset"),
        (1, 2**31, "patchset"),
    ],
)
async def test_numbers_gerrit_cannot_have_are_refused(
    api: Harness, change: int, patchset: int, field: str
) -> None:
    token = await api.account("a")
    posted = await api.http.post(
        "/api/v1/results",
        json=RESULT | {"change": change, "patchset": patchset},
        headers=bearer(token),
    )
    assert posted.status_code == 422, posted.text
    assert fields(posted) == [field]
    assert await stored_count(api.service) == 0


async def test_the_largest_gerrit_change_number_is_stored(api: Harness) -> None:
    token = await api.account("a")
    largest = 2**31 - 1
    posted = await api.http.post(
        "/api/v1/results",
        json=RESULT | {"change": largest, "patchset": largest},
        headers=bearer(token),
    )
    assert posted.status_code == 201, posted.text
    read = await api.http.get(f"/api/v1/changes/{largest}/patchsets/{largest}/results")
    assert [r["change"] for r in read.json()["results"]] == [largest]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/changes/{TOO_BIG}/results", "change (path parameter)"),
        (f"/api/v1/changes/1/patchsets/{TOO_BIG}/results", "patchset (path parameter)"),
        (f"/api/v1/changes/1/results?patchset={TOO_BIG}", "patchset (query parameter)"),
        (f"/json/changes/{TOO_BIG}", "change (path parameter)"),
    ],
)
async def test_reading_past_the_numbers_gerrit_has_is_a_422(
    api: Harness, path: str, field: str
) -> None:
    read = await api.http.get(path)
    assert read.status_code == 422, read.text
    assert fields(read) == [field]


@pytest.mark.parametrize("duration", [1e300, -1, "1e400 s", 366 * 86400])
async def test_durations_out_of_range_are_refused(api: Harness, duration: object) -> None:
    token = await api.account("a")
    posted = await api.http.post(
        "/api/v1/results", json=RESULT | {"duration": duration}, headers=bearer(token)
    )
    assert posted.status_code == 422, posted.text
    assert fields(posted) == ["duration"]


async def test_an_infinite_duration_is_refused(api: Harness) -> None:
    # Python's JSON reader takes Infinity; the store and format_duration do not.
    token = await api.account("a")
    body = json.dumps(RESULT | {"duration": float("inf")})
    posted = await api.http.post(
        "/api/v1/results",
        content=body,
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    assert posted.status_code == 422, posted.text
    assert fields(posted) == ["duration"]


@pytest.mark.parametrize(
    ("field", "text"),
    [("job", "tempest-\ud800"), ("comment", "a\x00b"), ("branch", "\udfff")],
)
async def test_strings_that_cannot_be_stored_are_refused(
    api: Harness, field: str, text: str
) -> None:
    token = await api.account("a")
    # json.dumps writes a lone surrogate as the escape \ud800, as any client may.
    body = json.dumps({"results": [RESULT, RESULT | {field: text}]})
    posted = await api.http.post(
        "/api/v1/results/batch",
        content=body,
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    assert posted.status_code == 422, posted.text
    assert fields(posted) == [f"results[1].{field}"]
    assert await stored_count(api.service) == 0


async def test_an_unstorable_key_is_refused_without_echoing_it(api: Harness) -> None:
    token = await api.account("a")
    body = json.dumps({"verifications": {"job\ud800": {"name": "j", "value": 1}}})
    posted = await api.http.post(
        "/a/changes/1234/revisions/1/verify-status~verifications",
        content=body,
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    assert posted.status_code == 422, posted.text
    assert fields(posted) == ["verifications"]
    assert "key" in posted.json()["detail"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/changes/1/results?job=a%00b", "job (query parameter)"),
        ("/api/v1/accounts/a%00b", "path"),
        ("/json/cis/a%00b", "path"),
    ],
)
async def test_a_nul_in_a_path_or_query_is_refused(api: Harness, path: str, field: str) -> None:
    read = await api.http.get(path)
    assert read.status_code == 422, read.text
    assert fields(read) == [field]


async def test_an_account_with_a_nul_is_refused(api: Harness) -> None:
    created = await api.http.post(
        "/api/v1/accounts",
        json={"name": "Acme CI", "owner": "ci\x00team"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert created.status_code == 422, created.text
    assert fields(created) == ["owner"]


async def test_a_deeply_nested_body_is_refused(api: Harness) -> None:
    token = await api.account("a")
    body = "[" * 100_000 + "]" * 100_000
    posted = await api.http.post(
        "/api/v1/results",
        content=body,
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    # Python's JSON reader gives up (RecursionError): FastAPI answers 400, not 500.
    assert posted.status_code == 400, posted.text
    assert posted.json()["errors"] == [
        {"field": "body", "message": "nested too deeply to parse: flatten the JSON"}
    ]


async def test_a_body_not_in_utf8_is_located(api: Harness) -> None:
    token = await api.account("a")
    posted = await api.http.post(
        "/api/v1/results",
        content='{"project": "café"}'.encode("latin-1"),
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    assert posted.status_code == 400, posted.text
    assert posted.json()["detail"] == (
        "body: not valid UTF-8 at byte 16: send JSON encoded as UTF-8"  # é, counted from 0
    )


@pytest.mark.parametrize(
    "change", [str(TOO_BIG), "²", "openstack%2Fnova~99999999999999999999", "0"]
)
async def test_verify_status_change_ids_gerrit_cannot_have_are_not_found(
    api: Harness, change: str
) -> None:
    token = await api.account("a")
    read = await api.http.get(f"/changes/{change}/revisions/1/verify-status~verifications")
    assert plugin_json(read) == {}
    posted = await api.http.post(
        f"/a/changes/{change}/revisions/1/verify-status~verifications",
        json={"verifications": {"j": {"name": "j", "value": 1}}},
        headers=bearer(token),
    )
    assert posted.status_code == 404, posted.text
    assert "NUMBER" in posted.json()["detail"]


async def test_a_patchset_written_in_unicode_digits_is_not_a_500(api: Harness) -> None:
    read = await api.http.get("/changes/1/revisions/%C2%B2/verify-status~verifications")
    assert read.status_code == 200, read.text


async def test_a_page_cursor_past_the_ids_is_a_400(api: Harness) -> None:
    await api.account("a")
    read = await api.http.get(f"/json/cis/a?before=2024-01-01T00:00:00%2B00:00~{TOO_BIG}")
    assert read.status_code == 400, read.text
    assert "out of range" in read.json()["detail"]


async def test_a_duplicate_account_is_a_documented_409(api: Harness) -> None:
    await api.account("a")
    created = await api.http.post(
        "/api/v1/accounts", json={"name": "a"}, headers=bearer(ADMIN_TOKEN)
    )
    assert created.status_code == 409, created.text
    document = (await api.http.get("/openapi.json")).json()
    assert "409" in document["paths"]["/api/v1/accounts"]["post"]["responses"]
