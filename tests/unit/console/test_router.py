"""The console routes over a real store and logs root: the page, the JSON, the text and
the event stream, for running, waiting, finished and unknown builds."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.console.hub import ConsoleHub
from crosscheck.console.router import console_router
from crosscheck.model.build import BuildResult
from crosscheck.store.tables import builds
from crosscheck.web.rendering import SECURITY_HEADERS
from tests.consoles import add_build, finish_build, start_build

HOSTILE = "\x1b[31m<script>alert(1)</script>\x1b]0;owned-title\x07\x1b[0m"


@pytest.fixture
def logs_root(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    root.mkdir()
    return root


@pytest.fixture
def hub() -> ConsoleHub:
    return ConsoleHub()


@pytest.fixture
async def client(
    engine: AsyncEngine, logs_root: Path, hub: ConsoleHub
) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(console_router(engine, logs_root, hub))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def events(body: str) -> list[tuple[str | None, str, dict[str, Any]]]:
    """(id, event, data) of each event of a stream."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "event" in fields:
            found.append((fields.get("id"), fields["event"], json.loads(fields["data"])))
    return found


async def finished_build(engine: AsyncEngine, logs_root: Path, hub: ConsoleHub) -> str:
    build_id = await add_build(engine)
    with await start_build(engine, logs_root, build_id, hub) as console:
        console.lines(["crosscheck build", HOSTILE, "\x1b[1;32mpassed\x1b[0m"])
    await finish_build(engine, build_id, BuildResult.FAILURE, "step 2 failed")
    return build_id


async def test_a_finished_build_page_shows_the_log_escaped_and_runs_no_script(
    engine: AsyncEngine, logs_root: Path, hub: ConsoleHub, client: httpx.AsyncClient
) -> None:
    build_id = await finished_build(engine, logs_root, hub)
    page = await client.get(f"/builds/{build_id}/console")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    html = page.text
    assert "<script" not in html
    assert 'id="follow"' not in html
    assert '<tr id="L2"><td class="n"><a href="#L2">2</a></td>' in html
    assert '<span class="fg1">&lt;script&gt;alert(1)&lt;/script&gt;</span>' in html
    assert '<span class="bold fg2">passed</span>' in html
    assert "\x1b" not in html
    assert "owned-title" not in html
    assert ">FAILURE<" in html
    assert "step 2 failed" in html
    assert f'href="/logs/34/1234/1/check/lab/{build_id}/console.log"' in html


async def page_of(
    engine: AsyncEngine,
    logs_root: Path,
    hub: ConsoleHub,
    client: httpx.AsyncClient,
    lines: list[str],
) -> tuple[str, str]:
    """A finished build that printed `lines`: its id and its console page."""
    build_id = await add_build(engine)
    with await start_build(engine, logs_root, build_id, hub) as console:
        console.lines(lines)
    await finish_build(engine, build_id)
    return build_id, (await client.get(f"/builds/{build_id}/console")).text


async def test_a_page_shows_the_last_lines_of_a_huge_console_and_links_the_rest(
    engine: AsyncEngine,
    logs_root: Path,
    hub: ConsoleHub,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As Jenkins' console: a build that printed a million lines would make a page no
    browser opens; the plain text keeps every line."""
    monkeypatch.setattr("crosscheck.console.router.PAGE_LINES", 5)
    build_id, html = await page_of(
        engine, logs_root, hub, client, [f"line {n}" for n in range(1, 13)]
    )
    shown = re.findall(r'<tr id="L(\d+)">', html)
    assert shown == ["8", "9", "10", "11", "12"]
    assert "7 earlier line(s) are not shown here" in html
    assert f'<a href="/logs/34/1234/1/check/lab/{build_id}/console.log">the plain text</a>' in html
    small = await finished_build(engine, logs_root, hub)
    assert "earlier line(s)" not in (await client.get(f"/builds/{small}/console")).text


async def test_a_page_holds_a_bounded_number_of_characters_however_long_the_lines(
    engine: AsyncEngine,
    logs_root: Path,
    hub: ConsoleHub,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One line of 400 MB without a newline made a page of 400 MB per reader."""
    monkeypatch.setattr("crosscheck.console.router.PAGE_BYTES", 3000)
    _, html = await page_of(
        engine, logs_root, hub, client, ["x" * 1000 + f" {n}" for n in range(1, 11)]
    )
    assert re.findall(r'<tr id="L(\d+)">', html) == ["9", "10"]
    assert "8 earlier line(s) are not shown here" in html


async def test_a_running_build_page_runs_one_script_by_nonce_and_says_where_to_follow(
    engine: AsyncEngine, logs_root: Path, hub: ConsoleHub, client: httpx.AsyncClient
) -> None:
    build_id = await add_build(engine)
    console = await start_build(engine, logs_root, build_id, hub)
    console.lines(["one", "two"])
    page = await client.get(f"/builds/{build_id}/console")
    console.close()
    policy = page.headers["content-security-policy"]
    nonce = re.search(r"script-src 'nonce-([\w-]+)'", policy)
    assert nonce is not None
    assert "'self'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert "connect-src 'self'" in policy
    assert page.text.count("<script") == 1
    assert f'<script src="/static/console.js" nonce="{nonce[1]}" defer>' in page.text
    assert f'data-events="/api/v1/builds/{build_id}/console/events" data-next="3"' in page.text
    assert "running on local-0" in page.text
    script = await client.get("/static/console.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text


async def test_a_waiting_build_page_says_so_and_follows(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    build_id = await add_build(engine)
    page = await client.get(f"/builds/{build_id}/console")
    assert page.status_code == 200
    assert "waiting for a node" in page.text
    assert "its console appears here once a node takes it" in page.text
    assert 'data-next="1"' in page.text


async def test_a_retry_sitting_out_its_back_off_says_when_it_may_start(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    build_id = await add_build(engine)
    due = datetime.now(UTC) + timedelta(seconds=90)
    async with engine.begin() as db:
        await db.execute(update(builds).where(builds.c.id == build_id).values(not_before=due))
    page = await client.get(f"/builds/{build_id}/console")
    assert page.status_code == 200
    assert f"waiting to retry, at {due:%H:%M:%S} UTC" in page.text
    assert "waiting for a node" not in page.text


async def test_an_unknown_build_is_404_with_a_clear_message(client: httpx.AsyncClient) -> None:
    page = await client.get("/builds/nope/console")
    assert page.status_code == 404
    assert "There is no build &#39;nope&#39;" in page.text
    assert "<script" not in page.text
    for path in ("", "/console", "/console/events"):
        answer = await client.get(f"/api/v1/builds/nope{path}")
        assert answer.status_code == 404
        assert answer.json()["detail"] == "no build 'nope'"
    odd = await client.get("/api/v1/builds/%00%3Cb%3E")
    assert odd.status_code == 404
    assert odd.json()["detail"] == "no build '\\x00<b>'"


async def test_the_json_text_and_raw_of_a_finished_build(
    engine: AsyncEngine, logs_root: Path, hub: ConsoleHub, client: httpx.AsyncClient
) -> None:
    build_id = await finished_build(engine, logs_root, hub)
    data = (await client.get(f"/api/v1/builds/{build_id}")).json()
    assert {k: data[k] for k in ("id", "job", "state", "result", "live", "change")} == {
        "id": build_id,
        "job": "lab",
        "state": "finished",
        "result": "FAILURE",
        "live": False,
        "change": 1234,
    }
    assert data["console_url"] == f"/builds/{build_id}/console"
    text = await client.get(f"/api/v1/builds/{build_id}/console", params={"from": 2})
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    lines = text.text.splitlines()
    assert [line.split(" | ", 1)[1] for line in lines] == [HOSTILE, "\x1b[1;32mpassed\x1b[0m"]
    raw = await client.get(f"/builds/{build_id}/console?raw")
    assert raw.status_code == 307
    assert raw.headers["location"] == data["console_log_url"]


async def test_the_events_of_a_finished_build_then_its_end(
    engine: AsyncEngine, logs_root: Path, hub: ConsoleHub, client: httpx.AsyncClient
) -> None:
    build_id = await finished_build(engine, logs_root, hub)
    answer = await client.get(f"/api/v1/builds/{build_id}/console/events")
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith("retry: 2000\n\n")
    got = events(answer.text)
    assert [(i, e) for i, e, _ in got] == [("1", "line"), ("2", "line"), ("3", "line"),
                                           (None, "end")]  # fmt: skip
    line = got[1][2]
    assert line["n"] == 2
    assert line["html"] == '<span class="fg1">&lt;script&gt;alert(1)&lt;/script&gt;</span>'
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", str(line["time"]))
    assert got[3][2] == {"state": "finished", "result": "FAILURE", "detail": "step 2 failed"}
    # A reconnecting EventSource resumes after the last line it got; a terminal reads text.
    resumed = await client.get(
        f"/api/v1/builds/{build_id}/console/events",
        params={"format": "text"},
        headers={"Last-Event-ID": "2"},
    )
    assert [(e, d.get("n"), d.get("text", "")[-8:]) for _, e, d in events(resumed.text)] == [
        ("line", 3, "ssed\x1b[0m"),
        ("end", None, ""),
    ]


async def test_a_running_build_streams_lines_as_written_then_its_end(
    engine: AsyncEngine, logs_root: Path, hub: ConsoleHub, client: httpx.AsyncClient
) -> None:
    build_id = await add_build(engine)

    async def run() -> None:
        with await start_build(engine, logs_root, build_id, hub) as console:
            console.line("started")
            while not hub.followers(build_id):
                await asyncio.sleep(0.01)
            for n in range(3):
                console.line(f"step {n}")
                await asyncio.sleep(0.02)
        await finish_build(engine, build_id)

    running = asyncio.create_task(run())
    answer = await client.get(f"/api/v1/builds/{build_id}/console/events")
    await running
    got = events(answer.text)
    assert [d.get("n") for _, _, d in got] == [1, 2, 3, 4, None]
    assert got[-1][2]["result"] == "SUCCESS"
    assert hub.followers(build_id) == 0
