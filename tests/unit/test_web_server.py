"""serve's uvicorn: a current Date header on each answer, no tick, and a prompt stop."""

from __future__ import annotations

import asyncio
import email.utils
import time

import httpx
import uvicorn
from fastapi import FastAPI

from crosscheck.http.sockets import listen
from crosscheck.serve.web_server import WebServer


def app() -> FastAPI:
    made = FastAPI()

    @made.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return made


async def test_answers_carry_the_current_date_and_exit_stops_the_server() -> None:
    with listen("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
        server = WebServer(uvicorn.Config(app(), log_config=None, access_log=False))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(10):
                while not server.started:
                    await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                first = await client.get("/ping")
                await asyncio.sleep(1.1)  # no tick refreshes it: the answer makes it
                second = await client.get("/ping")
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
    dates = [email.utils.parsedate_to_datetime(r.headers["date"]) for r in (first, second)]
    assert first.json() == {"pong": "yes"}
    assert dates[1] > dates[0]
    assert abs(dates[1].timestamp() - time.time()) < 5
    assert first.headers["server"] == "uvicorn"  # uvicorn's own default headers stay


async def test_the_main_loop_sleeps_until_told_to_exit() -> None:
    server = WebServer(uvicorn.Config(app()))
    loop = asyncio.get_running_loop()
    waiting = asyncio.create_task(server.main_loop())
    await asyncio.sleep(0.05)
    timers = [handle for handle in loop._scheduled if not handle.cancelled()]  # type: ignore[attr-defined]
    assert not waiting.done()
    assert timers == []  # uvicorn's would be a 0.1 s sleep
    server.should_exit = True
    await asyncio.wait_for(waiting, 1)
