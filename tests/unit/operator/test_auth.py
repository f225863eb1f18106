"""Who may use the operator API: reads are public, writes need the admin token."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.secrets import SecretError

from .harness import ADMIN_TOKEN, CI_WITH_TOKEN, CONFIG, TOKEN_VARIABLE, load, operator_api

WRITES = [
    ("/api/v1/enqueue", {"pipeline": "check", "change": 1}),
    ("/api/v1/dequeue", {"pipeline": "check", "change": 1}),
]


@pytest.mark.parametrize(("path", "body"), WRITES)
async def test_without_a_configured_token_writes_are_refused_saying_how_to_configure_one(
    engine: AsyncEngine, tmp_path: Path, path: str, body: dict[str, object]
) -> None:
    async with operator_api(engine, load(tmp_path, CONFIG)) as api:
        answer = await api.http.post(path, json=body, headers={"Authorization": "Bearer x"})
    assert answer.status_code == 403
    detail = answer.json()["detail"]
    assert "no admin token is configured" in detail
    assert "'- ci:'" in detail
    assert "admin_token_file" in detail
    assert "admin_token_env" in detail


@pytest.mark.usefixtures("token_in_env")
@pytest.mark.parametrize(("path", "body"), WRITES)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
        {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},
        {"Authorization": "Basic YWRtaW46Y2NyX29wZXJhdG9yLXRva2VuLWZvci10ZXN0cw=="},
        {"Authorization": ADMIN_TOKEN},
    ],
    ids=["none", "wrong", "longer", "shorter", "basic", "no-scheme"],
)
async def test_anything_but_the_admin_token_is_refused(
    engine: AsyncEngine,
    tmp_path: Path,
    path: str,
    body: dict[str, object],
    headers: dict[str, str],
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        answer = await api.http.post(path, json=body, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert "admin token" in answer.json()["detail"]
        assert (await api.status())["pipelines"][0]["items"] == []


@pytest.mark.usefixtures("token_in_env")
async def test_the_admin_token_may_write(engine: AsyncEngine, tmp_path: Path) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        enqueued = await api.enqueue(pipeline="check", change=1)
        dequeued = await api.dequeue(pipeline="check", change=1)
    assert enqueued.status_code == 201, enqueued.text
    assert dequeued.status_code == 200, dequeued.text


async def test_a_token_file_is_read_at_each_write_so_rotating_it_needs_no_restart(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text("first-token\n")
    config = load(
        tmp_path, "- ci:\n    name: Acme CI\n    admin_token_file: admin-token\n" + CONFIG
    )
    async with operator_api(engine, config) as api:
        assert (await api.enqueue("first-token", pipeline="check", change=1)).status_code == 201
        token_file.write_text("second-token\n")
        assert (await api.enqueue("first-token", pipeline="check", change=2)).status_code == 401
        assert (await api.enqueue("second-token", pipeline="check", change=2)).status_code == 201


async def test_a_named_token_that_cannot_be_read_stops_serve_at_start(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    with pytest.raises(SecretError, match=TOKEN_VARIABLE):
        async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)):
            pass


async def test_a_token_that_became_unreadable_refuses_writes_with_the_reason(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        monkeypatch.delenv(TOKEN_VARIABLE)
        answer = await api.enqueue(pipeline="check", change=1)
    assert answer.status_code == 503
    assert TOKEN_VARIABLE in answer.json()["detail"]


@pytest.mark.usefixtures("token_in_env")
async def test_a_bad_body_without_the_token_is_refused_for_the_token_first(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        answer = await api.enqueue(None, pipeline="", change=-1, unknown=1)
    assert answer.status_code == 401


async def test_the_status_is_public_even_without_a_token_configured(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with operator_api(engine, load(tmp_path, CONFIG)) as api:
        answer = await api.http.get("/api/v1/status")
    assert answer.status_code == 200
    assert [p["name"] for p in answer.json()["pipelines"]] == ["check", "post"]


@pytest.mark.usefixtures("token_in_env")
async def test_the_token_is_never_logged(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        await api.enqueue(pipeline="check", change=1)
        await api.enqueue("wrong-token", pipeline="check", change=2)
        await api.dequeue(item=1)
    assert "item 1" in caplog.text  # the writes were logged
    assert ADMIN_TOKEN not in caplog.text
    assert "wrong-token" not in caplog.text


@pytest.mark.usefixtures("token_in_env")
@pytest.mark.parametrize("path", [path for path, _ in WRITES])
async def test_a_body_that_is_not_json_is_judged_after_the_token(
    engine: AsyncEngine, tmp_path: Path, path: str
) -> None:
    """FastAPI reads the body before any dependency runs: the token is judged first all
    the same, so only the admin learns what the body should be."""
    json_type = {"Content-Type": "application/json"}
    async with operator_api(engine, load(tmp_path, CI_WITH_TOKEN + CONFIG)) as api:
        answers = [
            await api.http.post(path, content=b"{not json", headers=json_type | credentials)
            for credentials in (
                {},
                {"Authorization": "Bearer x"},
                {"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
        ]
    assert [answer.status_code for answer in answers] == [401, 401, 422]
    assert "admin token" in answers[0].json()["detail"]
