"""Waiting, in tests, for something a background task does: polled, with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "it") -> None:
    """Until `condition()` holds; fails naming `what` once `timeout` seconds passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"{what} did not get there in {timeout:g} s"
        await asyncio.sleep(0.01)
