"""The access log (access_log.py): a line per request, refusals loud, no secret in it."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from prometheus_client import REGISTRY

from crosscheck.http.access_log import AccessLog
from crosscheck.serve.web_app import WEBHOOK_PATHS

TOKEN = "s3cret-" + "t" * 30


def app() -> FastAPI:
    made = FastAPI()
    made.add_middleware(AccessLog, secret_paths=WEBHOOK_PATHS)

    @made.get("/api/v1/status")
    async def status() -> dict[str, str]:
        return {"ok": "yes"}

    @made.post("/api/v1/enqueue")
    async def enqueue() -> None:
        raise HTTPException(401, "not the admin token")

    @made.post("/api/v1/dequeue")
    async def dequeue() -> None:
        raise HTTPException(403, "no admin token configured")

    @made.post("/webhooks/gerrit/{connection}/{token}")
    async def webhook(connection: str, token: str) -> dict[str, str]:
        return {"connection": connection}

    @made.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return made


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False, client=("10.0.0.9", 5))
    return httpx.AsyncClient(transport=transport, base_url="http://ci.test")


def access_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "crosscheck.access"]


LINE = re.compile(r"^(GET|POST) (\S+) -> (\d{3}) in \d+\.\d ms from 10\.0\.0\.9:5$")


async def test_one_line_per_request_with_method_path_status_duration_and_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with client() as http:
        await http.get("/api/v1/status", params={"page": "2"})
    [(level, line)] = access_lines(caplog)
    assert level == "INFO"
    match = LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("GET", "/api/v1/status", "200")  # no query string


async def test_refused_credentials_and_server_errors_are_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with client() as http:
        await http.post("/api/v1/enqueue")
        await http.post("/api/v1/dequeue")
        await http.get("/boom")
        await http.get("/nowhere")
    lines = access_lines(caplog)
    assert [(level, LINE.match(line).group(3)) for level, line in lines] == [  # type: ignore[union-attr]
        ("WARNING", "401"),
        ("WARNING", "403"),
        ("WARNING", "500"),
        ("INFO", "404"),
    ]


async def test_no_token_reaches_the_log_from_headers_query_or_a_webhook_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client() as http:  # (the test's own HTTP client logs its URLs: not looked at)
        await http.post("/api/v1/enqueue", headers={"Authorization": f"Bearer {TOKEN}"})
        await http.get("/api/v1/status", params={"token": TOKEN}, auth=("ci", TOKEN))
        await http.post(f"/webhooks/gerrit/sandbox/{TOKEN}", json={})
    text = "\n".join(line for _, line in access_lines(caplog))
    assert len(access_lines(caplog)) == 3
    assert TOKEN not in text
    assert "POST /webhooks/gerrit/sandbox/*** -> 200" in text


async def test_a_path_cannot_forge_a_second_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with client() as http:
        await http.get("/api/v1/status%0A2026-01-01T00:00:00.000Z INFO crosscheck: forged")
    [(_, line)] = access_lines(caplog)
    assert "\n" not in line
    assert "/api/v1/status%0A2026" in line


async def test_requests_are_counted_by_method_and_status() -> None:
    def count(status: str) -> float:
        value = REGISTRY.get_sample_value(
            "crosscheck_http_requests_total", {"method": "POST", "status": status}
        )
        return value or 0.0

    before = count("401")
    async with client() as http:
        await http.post("/api/v1/enqueue")
        await http.post("/api/v1/enqueue")
    assert count("401") == before + 2


async def test_a_token_in_an_odd_webhook_path_is_masked_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    odd = [
        f"/webhooks/gerrit/sandbox//{TOKEN}",
        f"/webhooks//gerrit/sandbox/{TOKEN}",
        f"/webhook/gerrit/sandbox/{TOKEN}",
        f"/Webhooks/gerrit/sandbox/{TOKEN}",
    ]
    async with client() as http:
        for path in odd:
            await http.post(path, json={})
    lines = [line for _, line in access_lines(caplog)]
    assert len(lines) == len(odd)
    assert all(TOKEN not in line for line in lines), lines
    assert all("/*** -> " in line for line in lines), lines
    # A doubled leading slash (a base URL ending in '/'): an HTTP client would read it as
    # a host, so the path is given to the middleware as a server receives it.
    logged = AccessLog(app(), secret_paths=WEBHOOK_PATHS).logged_path(
        {"raw_path": f"//webhooks/gerrit/sandbox/{TOKEN}".encode()}
    )
    assert logged == "//webhooks/***"


async def test_unknown_methods_share_one_metrics_label() -> None:
    before = REGISTRY.get_sample_value(
        "crosscheck_http_requests_total", {"method": "other", "status": "405"}
    )
    async with client() as http:
        for number in range(3):
            await http.request(f"XMETH{number}", "/api/v1/status")
    after = REGISTRY.get_sample_value(
        "crosscheck_http_requests_total", {"method": "other", "status": "405"}
    )
    assert (after or 0) - (before or 0) == 3
    assert (
        REGISTRY.get_sample_value(
            "crosscheck_http_requests_total", {"method": "XMETH0", "status": "405"}
        )
        is None
    )
