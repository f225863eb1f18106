"""Account fields, the result age window, the admin token on CI routes, the audit trail."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncssh
import pytest

from crosscheck.model.results import AuditAction, AuditEvent
from crosscheck.results.audit import audit_trail
from crosscheck.store import open_store
from tests.integration.results.api_harness import ADMIN_TOKEN, Harness, bearer, harness
from tests.integration.results.test_api import RESULT

ADMIN = bearer(ADMIN_TOKEN)


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


@pytest.mark.parametrize(
    ("fields", "where", "words"),
    [
        ({"info_url": "javascript:alert(1)"}, "info_url", "http:// or https://"),
        ({"info_url": "data:text/html,x"}, "info_url", "http:// or https://"),
        ({"owner": "<b>Acme</b>"}, "owner", "plain text"),
        ({"owner": "ops\nmore"}, "owner", "control characters"),
        ({"driver": "\u202egnp.exe"}, "driver", "bidirectional override"),
        ({"owner": "x" * 201}, "owner", "longer than 200"),
        ({"name": "<script>"}, "name", "use letters, digits"),
        ({"name": "n" * 101}, "name", "1 to 100 characters"),
    ],
)
async def test_account_fields_are_plain_text_and_web_addresses(
    api: Harness, fields: dict[str, str], where: str, words: str
) -> None:
    body = {"name": "Acme CI", "owner": "ops@acme.example", "info_url": "https://acme.example"}
    created = await api.http.post("/api/v1/accounts", json=body | fields, headers=ADMIN)
    assert created.status_code == 422, created.text
    assert [e["field"] for e in created.json()["errors"]] == [where]
    assert words in created.json()["detail"]
    assert await api.service.accounts.list_accounts() == []


async def test_a_change_of_account_is_checked_too(api: Harness) -> None:
    await api.account("Acme CI")
    changed = await api.http.patch(
        "/api/v1/accounts/Acme CI", json={"info_url": "javascript:x"}, headers=ADMIN
    )
    assert changed.status_code == 422
    assert (await api.service.accounts.get("Acme CI")).info_url == ""
    fine = await api.http.patch(
        "/api/v1/accounts/Acme CI",
        json={"owner": "Acme & Co", "info_url": "http://a.b/c"},
        headers=ADMIN,
    )
    assert fine.status_code == 200, fine.text


async def test_results_outside_the_window_are_refused(api: Harness) -> None:
    token = await api.account("a")
    now = datetime.now(UTC)
    cases = {
        "1970-01-01T00:00:00Z": "is older than 7 days",
        (now - timedelta(days=8)).isoformat(): "is older than 7 days",
        (now + timedelta(hours=1)).isoformat(): "is in the future",
    }
    for when, words in cases.items():
        posted = await api.http.post(
            "/api/v1/results", json=RESULT | {"reported_at": when}, headers=bearer(token)
        )
        assert posted.status_code == 422, posted.text
        assert posted.json()["errors"][0]["field"] == "reported_at"
        assert words in posted.json()["detail"]
    for moment in (now - timedelta(days=6), now + timedelta(minutes=2)):
        posted = await api.http.post(
            "/api/v1/results",
            json=RESULT | {"reported_at": moment.isoformat()},
            headers=bearer(token),
        )
        assert posted.status_code == 201, posted.text


async def test_a_configured_window_counts(store_url: str) -> None:
    async with harness(store_url, max_age=timedelta(days=1)) as api:
        token = await api.account("a")
        old = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        posted = await api.http.post(
            "/api/v1/results", json=RESULT | {"reported_at": old}, headers=bearer(token)
        )
    assert posted.status_code == 422
    assert "reported_at: is older than 24h, the oldest" in posted.json()["detail"]


async def test_the_admin_token_cannot_report_and_is_told_so(api: Harness) -> None:
    posted = await api.http.post("/api/v1/results", json=RESULT, headers=ADMIN)
    assert posted.status_code == 403
    assert "the admin token manages CI accounts but does not report" in posted.json()["detail"]
    wrong = await api.http.post("/api/v1/results", json=RESULT, headers=bearer("nope"))
    assert wrong.status_code == 401


async def test_admin_actions_are_kept_in_the_audit_trail(api: Harness) -> None:
    created = await api.http.post(
        "/api/v1/accounts",
        json={"name": "Acme CI", "owner": "ops@acme.example", "allowed_projects": ["acme/*"]},
        headers=ADMIN,
    )
    token = created.json()["token"]
    admin_token = (await api.service.accounts.create("Boss", admin=True))[1]
    await api.http.post(
        "/api/v1/accounts/Acme CI/disable", json={"reason": "votes wrongly"}, headers=ADMIN
    )
    await api.http.post("/api/v1/accounts/Acme CI/enable", headers=bearer(admin_token))
    rotated = await api.http.post("/api/v1/accounts/Acme CI/rotate-token", headers=ADMIN)
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    await api.http.post("/api/v1/accounts/Acme CI/ssh-keys", json={"key": key}, headers=ADMIN)

    read = await api.http.get("/api/v1/audit", params={"account": "Acme CI"}, headers=ADMIN)
    assert read.status_code == 200, read.text
    events = read.json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("ssh_key_added", "admin token"),
        ("token_rotated", "admin token"),
        ("account_enabled", "CI account Boss"),
        ("account_disabled", "admin token"),
        ("account_created", "admin token"),
    ]
    assert events[3]["detail"] == "reason: votes wrongly"
    assert "allowed_projects: acme/*" in events[4]["detail"]
    assert events[0]["detail"].startswith("ssh-ed25519 SHA256:")
    text = read.text
    assert token not in text
    assert rotated.json()["token"] not in text

    first = await api.http.get("/api/v1/audit", params={"limit": 2}, headers=ADMIN)
    assert len(first.json()["events"]) == 2
    after = first.json()["next_page"]
    rest = await api.http.get("/api/v1/audit", params={"before": after}, headers=ADMIN)
    ids = [e["id"] for e in first.json()["events"] + rest.json()["events"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 6  # Boss's creation too
    assert rest.json()["next_page"] is None

    ci = await api.http.get("/api/v1/audit", headers=bearer(rotated.json()["token"]))
    assert ci.status_code == 403
    anonymous = await api.http.get("/api/v1/audit")
    assert anonymous.status_code == 401


async def test_the_cli_records_and_shows_the_trail(store_url: str) -> None:
    command = [sys.executable, "-m", "crosscheck", "results"]
    env_store = ["--store", store_url]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*command, *args], capture_output=True, text=True, check=False, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("account", "create", "Acme CI", "--project", "acme/*", *env_store)
    run("account", "disable", "Acme CI", "--reason", "lab down", *env_store)
    lines = run("audit", "--json", *env_store).splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["action"] for e in events] == ["account_disabled", "account_created"]
    assert all(e["actor"].startswith("cli (") for e in events)
    table = run("audit", "--account", "Acme CI", *env_store)
    assert "account_disabled" in table
    assert events[0]["detail"] == "reason: lab down"

    async_events = await _trail(store_url)
    assert async_events[0].action is AuditAction.ACCOUNT_DISABLED


async def _trail(store_url: str) -> list[AuditEvent]:
    engine = await open_store(store_url)
    try:
        return await audit_trail(engine)
    finally:
        await engine.dispose()
