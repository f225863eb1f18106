"""`GET /api/v1/status` and `crosscheck status` link each build to its console, and the
link is the console page serve's web app answers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.cli.status import render
from crosscheck.console.hub import ConsoleHub
from crosscheck.model.build import console_url
from crosscheck.serve.web_app import web_app
from tests.consoles import add_build, start_build
from tests.fakes.gerrit import FakeGerrit

from ..operator.harness import ADMIN_TOKEN, CI_WITH_TOKEN, CONFIG, TOKEN_VARIABLE, load
from ..operator.harness import scheduler_for as operator_scheduler
from ..operator.test_cli import STATUS
from ..scheduler.fakes import FakeExecutor


def test_a_console_url_is_beside_the_logs_and_absolute_when_they_are() -> None:
    assert console_url("https://ci.example.org/logs", "ab12") == (
        "https://ci.example.org/builds/ab12/console"
    )
    assert console_url("", "ab12") == "/builds/ab12/console"


async def test_the_status_links_a_running_build_to_its_console_page(
    tmp_path: Path, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    config = load(tmp_path, CI_WITH_TOKEN + CONFIG)
    logs_root = tmp_path / "logs"
    hub = ConsoleHub()
    scheduler = operator_scheduler(engine, config, FakeExecutor({}), FakeGerrit())
    app = web_app(config, engine, {}, logs_root, scheduler=scheduler, console_hub=hub)
    build_id = await add_build(engine)
    with await start_build(engine, logs_root, build_id, hub) as console:
        console.line("watch me")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        status = (await http.get("/api/v1/status")).json()
        (running,) = status["running_builds"]
        (item,) = status["pipelines"][0]["items"]
        link = f"https://ci.example.org/builds/{build_id}/console"
        assert running["console_url"] == link
        assert item["builds"][0]["console_url"] == link
        page = await http.get(link.removeprefix("https://ci.example.org"))
    assert page.status_code == 200
    assert "watch me" in page.text
    assert 'id="follow"' in page.text


def test_crosscheck_status_shows_each_running_build_s_console() -> None:
    data: dict[str, Any] = copy.deepcopy(STATUS)
    data["running_builds"][0]["console_url"] = "https://ci.example.org/builds/b1/console"
    console = Console(width=240, record=True, color_system=None)
    render(data, console, datetime(2024, 5, 1, 10, 5, tzinfo=UTC))
    shown = console.export_text()
    assert "console (followed live)" in shown
    row = next(line for line in shown.splitlines() if line.startswith("│ lab #2"))
    assert row.rstrip().endswith(
        "https://ci.example.org/logs/b1/ │ https://ci.example.org/builds/b1/console │"
    )
