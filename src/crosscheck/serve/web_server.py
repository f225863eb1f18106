"""uvicorn as `crosscheck serve` runs it: no signal handling of its own, no wake-ups
while idle.

uvicorn's `Server.main_loop` wakes ten times a second, to refresh the `Date` header
once a second and to look whether it should exit: 600 wake-ups an idle minute, most
of an idle serve's. Here the loop waits for the exit itself, and the `Date` header is
made when a response asks for it (at most once a second), so an idle web server
sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from email.utils import formatdate

import uvicorn
from uvicorn.server import ServerState

#: What stops a service gracefully (a second one ends it at once).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WebServer(uvicorn.Server):
    """uvicorn, minus its own signal handling: a stop signal stops the whole service.
    uvicorn's would stop only the web server, then raise the signal again, ending
    the process before the builds were stopped."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit = asyncio.Event()
        super().__init__(config)
        self.server_state = _DatedState(config)

    @property
    def should_exit(self) -> bool:
        return self._exit.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exit.set()
        else:
            self._exit.clear()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        await self._exit.wait()


class _DatedState(ServerState):
    """uvicorn's state shared by its connections, whose default headers (read at each
    response) carry the current `Date` rather than the one a tick last set."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__()
        self._config = config
        self._second = -1
        self._date = b""

    @property
    def default_headers(self) -> list[tuple[bytes, bytes]]:
        second = int(time.time())
        if second != self._second:
            self._second, self._date = second, formatdate(second, usegmt=True).encode()
        dated = [(b"date", self._date)] if self._config.date_header else []
        return dated + self._config.encoded_headers

    @default_headers.setter
    def default_headers(self, _: list[tuple[bytes, bytes]]) -> None:
        """uvicorn's own tick sets them; they are made on demand instead."""
