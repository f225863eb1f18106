"""Managing CI accounts over the API: only admins, with clear refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncssh
import pytest

from tests.integration.results.api_harness import ADMIN_TOKEN, Harness, bearer, harness
from tests.integration.results.test_api import RESULT

ADMIN = bearer(ADMIN_TOKEN)


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


async def test_an_account_lifecycle(api: Harness) -> None:
    created = await api.http.post(
        "/api/v1/accounts",
        json={"name": "Acme CI", "owner": "ops@acme.example", "allowed_projects": ["acme/*"]},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert created.json()["account"]["allowed_projects"] == ["acme/*"]
    report = RESULT | {"project": "acme/driver"}
    assert (await api.http.post("/api/v1/results", json=report, headers=bearer(token))).is_success

    disabled = await api.http.post(
        "/api/v1/accounts/Acme CI/disable", json={"reason": "votes wrongly"}, headers=ADMIN
    )
    assert disabled.json()["enabled"] is False
    refused = await api.http.post("/api/v1/results", json=report, headers=bearer(token))
    assert refused.status_code == 403
    assert "disabled (votes wrongly)" in refused.json()["detail"]

    assert (await api.http.post("/api/v1/accounts/Acme CI/enable", headers=ADMIN)).is_success
    rotated = await api.http.post("/api/v1/accounts/Acme CI/rotate-token", headers=ADMIN)
    new_token = rotated.json()["token"]
    old = await api.http.post("/api/v1/results", json=report, headers=bearer(token))
    assert old.status_code == 401
    assert (
        await api.http.post("/api/v1/results", json=report, headers=bearer(new_token))
    ).is_success

    changed = await api.http.patch(
        "/api/v1/accounts/Acme CI", json={"allowed_projects": ["other/*"]}, headers=ADMIN
    )
    assert changed.json()["allowed_projects"] == ["other/*"]
    now_refused = await api.http.post("/api/v1/results", json=report, headers=bearer(new_token))
    assert now_refused.status_code == 403

    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    added = await api.http.post(
        "/api/v1/accounts/Acme CI/ssh-keys", json={"key": key}, headers=ADMIN
    )
    assert added.status_code == 201
    listed = await api.http.get("/api/v1/accounts/Acme CI/ssh-keys", headers=ADMIN)
    assert [k["fingerprint"] for k in listed.json()] == [added.json()["fingerprint"]]


@pytest.mark.parametrize(
    ("who", "status", "words"),
    [
        ("nobody", 401, "needs the admin token"),
        ("a CI account", 403, "'a' is not an admin"),
        ("a wrong token", 401, "not valid"),
    ],
)
async def test_only_admins_manage_accounts(api: Harness, who: str, status: int, words: str) -> None:
    token = await api.account("a")
    headers = {"nobody": {}, "a CI account": bearer(token), "a wrong token": bearer("nope")}[who]
    for method, path in [
        ("POST", "/api/v1/accounts"),
        ("POST", "/api/v1/accounts/a/disable"),
        ("POST", "/api/v1/accounts/a/rotate-token"),
        ("POST", "/api/v1/accounts/a/ssh-keys"),
    ]:
        answer = await api.http.request(
            method, path, json={"name": "x", "key": "k"}, headers=headers
        )
        assert answer.status_code == status, (path, answer.text)
        assert words in answer.json()["detail"]
    assert [a.name for a in await api.service.accounts.list_accounts()] == ["a"]
    assert (await api.service.accounts.get("a")).enabled


async def test_an_admin_account_manages_accounts(api: Harness) -> None:
    _, token = await api.service.accounts.create("boss", admin=True)
    created = await api.http.post("/api/v1/accounts", json={"name": "x"}, headers=bearer(token))
    assert created.status_code == 201


async def test_account_errors_are_located(api: Harness) -> None:
    bad = await api.http.post(
        "/api/v1/accounts", json={"name": "a:b", "allowed_projects": ["^("]}, headers=ADMIN
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["name", "allowed_projects[0]"]
    await api.account("a")
    twice = await api.http.post("/api/v1/accounts", json={"name": "a"}, headers=ADMIN)
    assert twice.status_code == 409
    missing = await api.http.post("/api/v1/accounts/ghost/enable", headers=ADMIN)
    assert missing.status_code == 404
    bad_key = await api.http.post("/api/v1/accounts/a/ssh-keys", json={"key": "x"}, headers=ADMIN)
    assert bad_key.status_code == 422
    assert bad_key.json()["errors"][0]["field"] == "key"
