"""The native REST API and its authorisation matrix, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.results.api_harness import ADMIN_TOKEN, Harness, bearer, harness
from tests.integration.results.helpers import REVISION, stored_count

RESULT: dict[str, Any] = {
    "project": "openstack/nova",
    "change": 1234,
    "patchset": 2,
    "job": "tempest-full",
    "value": "passed",
    "url": "https://ci.example.org/logs/1234/2",
    "duration": "1h 2m 3s",
}


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


async def test_post_one_result_and_read_it_back(api: Harness) -> None:
    token = await api.account("Nova CI")
    posted = await api.http.post(
        "/api/v1/results",
        json=RESULT | {"revision": REVISION, "voting": False, "ci": "Nova CI"},
        headers=bearer(token),
    )
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert body["ci"] == "Nova CI"
    assert body["duration"] == 3723
    assert body["duration_text"] == "1h 2m 3s"
    assert body["voting"] is False
    read = await api.http.get("/api/v1/changes/1234/results")
    assert read.status_code == 200
    assert read.json()["results"] == [body]


async def test_a_batch_is_stored_whole(api: Harness) -> None:
    token = await api.account("a")
    batch = [RESULT | {"job": f"job-{n}"} for n in range(5)]
    posted = await api.http.post(
        "/api/v1/results/batch", json={"results": batch}, headers=bearer(token)
    )
    assert posted.status_code == 201, posted.text
    assert [r["job"] for r in posted.json()["results"]] == [f"job-{n}" for n in range(5)]
    assert await stored_count(api.service) == 5


@pytest.mark.parametrize(
    ("item", "status", "field", "words"),
    [
        ({"value": "green"}, 422, "results[2].value", "unknown result 'green'"),
        ({"duration": "soon"}, 422, "results[2].duration", "cannot read duration"),
        ({"url": "javascript:alert(1)"}, 422, "results[2].url", "http:// or https://"),
        ({"colour": "red"}, 422, "results[2].colour", "Extra inputs are not permitted"),
        ({"project": "other/x"}, 403, "results[2].project", "may not report on project"),
        ({"ci": "someone else"}, 403, "results[2].ci", "not 'someone else'"),
    ],
)
async def test_one_bad_item_refuses_the_whole_batch_and_says_where(
    api: Harness, item: dict[str, Any], status: int, field: str, words: str
) -> None:
    token = await api.account("a")
    batch = [RESULT, RESULT, RESULT | item]
    posted = await api.http.post(
        "/api/v1/results/batch", json={"results": batch}, headers=bearer(token)
    )
    assert posted.status_code == status, posted.text
    errors = posted.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]
    assert field in posted.json()["detail"]
    assert await stored_count(api.service) == 0


async def _post_as(api: Harness, headers: dict[str, str], body: Any = None) -> Any:
    return await api.http.post(
        "/api/v1/results", json=RESULT if body is None else body, headers=headers
    )


async def _request_for(case: str, api: Harness, token: str) -> dict[str, Any]:
    """The POST's arguments for one row of the matrix (after any change to the store)."""
    good: dict[str, Any] = {"json": RESULT, "headers": bearer(token)}
    if case == "rotated token":
        await api.service.accounts.rotate_token("a")
    if case == "disabled account":
        await api.service.accounts.set_enabled("a", False, "broken lab")
    return {
        "no credentials": {"json": RESULT},
        "wrong token": good | {"headers": bearer(token[:-2] + "xx")},
        "basic auth with another account's name": {"json": RESULT, "auth": ("b", token)},
        "another account's result": good | {"json": RESULT | {"ci": "b"}},
        "project not allowed": good | {"json": RESULT | {"project": "secret/x"}},
        "missing field": good | {"json": {k: v for k, v in RESULT.items() if k != "job"}},
        "wrong type": good | {"json": RESULT | {"change": "twelve"}},
        "future time": good | {"json": RESULT | {"reported_at": "2999-01-01T00:00:00Z"}},
        "not json": {
            "content": b"{not json",
            "headers": bearer(token) | {"Content-Type": "application/json"},
        },
        "a form": good | {"json": None, "data": {"ci": "a", "job": "unit"}},
        "a string": good | {"json": "unit passed"},
    }.get(case, good)


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("no credentials", 401, "needs a CI account's token"),
        ("wrong token", 401, "the token is not valid"),
        ("rotated token", 401, "the token is not valid"),
        ("basic auth with another account's name", 401, "wrong user name or token"),
        ("another account's result", 403, "the credentials are CI account 'a'"),
        ("disabled account", 403, "'a' is disabled (broken lab): ask an admin"),
        ("project not allowed", 403, "may not report on project 'secret/x'"),
        ("missing field", 422, "job: Field required"),
        ("wrong type", 422, "change: Input should be a valid integer"),
        ("not json", 422, "body: not valid JSON at character "),
        ("a form", 422, "body: not read as JSON: send a JSON object with Content-Type: "),
        ("a string", 422, "body: expected a JSON object, got a string"),
        ("future time", 422, "reported_at: is in the future"),
    ],
)
async def test_the_authorisation_matrix(api: Harness, case: str, status: int, words: str) -> None:
    token = await api.account("a")
    await api.account("b")
    posted = await api.http.post("/api/v1/results", **await _request_for(case, api, token))
    assert posted.status_code == status, posted.text
    assert words in posted.json()["detail"]
    if status == 401:
        assert posted.headers["WWW-Authenticate"].startswith("Basic")
    assert await stored_count(api.service) == 0


async def test_basic_auth_with_the_account_name_and_token_reports(api: Harness) -> None:
    token = await api.account("Nova CI")
    posted = await api.http.post("/api/v1/results", json=RESULT, auth=("Nova CI", token))
    assert posted.status_code == 201, posted.text
    assert await stored_count(api.service) == 1


async def test_rate_limit_answers_429_with_retry_after(store_url: str) -> None:
    async with harness(store_url, rate=0.01, burst=2) as api:
        token = await api.account("a")
        for _ in range(2):
            assert (await _post_as(api, bearer(token))).status_code == 201
        limited = await _post_as(api, bearer(token))
        assert limited.status_code == 429
        waits = int(limited.headers["Retry-After"])
        assert waits >= 99
        assert f"too many requests: retry in {waits}s" in limited.json()["detail"]
        assert await stored_count(api.service) == 2


async def test_reads_filter_current_history_ci_job_and_failures(api: Harness) -> None:
    a = await api.account("a")
    b = await api.account("b")
    for body, token in [
        (RESULT | {"value": "failed"}, a),
        (RESULT | {"value": "passed"}, a),
        (RESULT | {"value": "failed"}, b),
        (RESULT | {"job": "unit", "value": "failed"}, b),
        (RESULT | {"patchset": 3}, b),
    ]:
        assert (await _post_as(api, bearer(token), body)).status_code == 201

    async def read(path: str, **params: Any) -> list[tuple[str, str, int, str]]:
        answer = await api.http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return sorted(
            (r["ci"], r["job"], r["patchset"], r["value"]) for r in answer.json()["results"]
        )

    change = "/api/v1/changes/1234/results"
    assert len(await read(change)) == 4
    assert len(await read(change, history="true")) == 5
    assert await read(change, ci="a") == [("a", "tempest-full", 2, "passed")]
    assert await read(change, job="unit") == [("b", "unit", 2, "failed")]
    assert await read(change, failed_only="true") == [
        ("b", "tempest-full", 2, "failed"),
        ("b", "unit", 2, "failed"),
    ]
    assert await read("/api/v1/changes/1234/patchsets/3/results") == [
        ("b", "tempest-full", 3, "passed")
    ]
    assert len(await read(change, patchset=2)) == 3
    newest_first = await api.http.get("/api/v1/accounts/b/results", params={"limit": 2})
    assert [r["patchset"] for r in newest_first.json()["results"]] == [3, 2]
    typo = await api.http.get(change, params={"faild_only": "true"})
    assert typo.status_code == 422
    assert "faild_only" in typo.json()["detail"]


async def test_statistics_per_account(api: Harness) -> None:
    a = await api.account("a")
    await api.account("silent")
    for value in ("passed", "passed", "failed", "in progress"):
        await _post_as(api, bearer(a), RESULT | {"value": value})
    everyone = (await api.http.get("/api/v1/statistics")).json()["accounts"]
    assert [s["ci"] for s in everyone] == ["a", "silent"]
    day = everyone[0]["windows"]["24h"]
    assert day["total"] == 3  # the in-progress report is not a result more
    assert day["counts"] == {"passed": 2, "failed": 1, "in_progress": 1}
    assert day["success_rate"] == pytest.approx(2 / 3)
    assert everyone[0]["last_seen"] is not None
    assert everyone[1]["windows"]["30d"]["total"] == 0
    one = await api.http.get("/api/v1/accounts/a/statistics")
    assert one.json()["windows"]["7d"]["total"] == 3
    missing = await api.http.get("/api/v1/accounts/nobody/statistics")
    assert missing.status_code == 404
    assert "no CI account named 'nobody'" in missing.json()["detail"]


async def test_reads_can_require_a_token(store_url: str) -> None:
    async with harness(store_url, public_reads=False) as api:
        token = await api.account("a")
        anonymous = await api.http.get("/api/v1/changes/1/results")
        assert anonymous.status_code == 401
        assert "needs a token to read" in anonymous.json()["detail"]
        assert (await api.http.get("/api/v1/changes/1/results", headers=bearer(token))).is_success
        admin = await api.http.get("/api/v1/statistics", headers=bearer(ADMIN_TOKEN))
        assert admin.status_code == 200


async def test_openapi_is_published(api: Harness) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    assert "/api/v1/results/batch" in spec["paths"]
    assert "/a/changes/{change}/revisions/{revision}/verify-status~verifications" in spec["paths"]
    assert {"HTTPBearer", "HTTPBasic"} <= set(spec["components"]["securitySchemes"])
    assert (await api.http.get("/docs")).status_code == 200
