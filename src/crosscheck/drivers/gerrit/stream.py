"""`gerrit stream-events` over SSH, kept connected.

- SSH keepalives notice a dead TCP connection.
- A watchdog notices a live connection whose stream went silent: after
  `silence_timeout` without a line it asks Gerrit for its version on a new channel,
  and reconnects the stream when Gerrit answers (the stream had stalled).
- Reconnects back off exponentially with full jitter, up to `max_backoff`; a
  stream Gerrit ends soon after opening counts as a failure, so the backoff grows.
- Each (re)connection calls `on_connected` once the stream is subscribed, so the
  caller can catch up on what was missed with no gap. Lines are read into a queue
  meanwhile (Gerrit drops output a subscriber does not read) and handed over after.
- Connecting, opening the stream and `on_connected` each have a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import asyncssh

from crosscheck.drivers.gerrit import ssh
from crosscheck.errors import printable, said
from crosscheck.metrics import stream_connected, stream_reconnects
from crosscheck.model.build import format_duration
from crosscheck.model.connection import GerritConnection

log = logging.getLogger(__name__)


class StreamState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class StreamSettings:
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3
    silence_timeout: float = 600.0
    connect_timeout: float = 30.0
    #: How long catch-up after a (re)connect may take before the attempt is abandoned.
    catch_up_timeout: float = 900.0
    #: A stream must live this long before its end counts as normal rather than a failure.
    healthy_after: float = 60.0
    base_backoff: float = 1.0
    max_backoff: float = 60.0

    def backoff(self, failures: int) -> float:
        return random.uniform(0, min(self.max_backoff, self.base_backoff * 2**failures))  # noqa: S311


class StreamStalledError(Exception):
    """The connection lives, Gerrit answers, but the stream has said nothing for too long."""


class StreamEndedError(Exception):
    """Gerrit closed the stream soon after opening it (no right to stream, overload...)."""


#: Failed reconnects in a row between two warnings that Gerrit is still unreachable.
REMIND_EVERY = 10

#: Put in the line queue by the reader when the stream ends, in place of a line.
_END = ""


class GerritStream:
    def __init__(
        self,
        connection: GerritConnection,
        on_line: Callable[[str], Awaitable[None]],
        on_connected: Callable[[], Awaitable[None]] = lambda: asyncio.sleep(0),
        settings: StreamSettings | None = None,
    ) -> None:
        self.connection = connection
        self.on_line = on_line
        self.on_connected = on_connected
        self.settings = settings or StreamSettings()
        self.state = StreamState.DISCONNECTED
        self.connects = 0
        self._ssh: asyncssh.SSHClientConnection | None = None
        #: Whether the last attempt connected, then dropped before it was stable.
        self._dropping = False
        #: Attempts in a row that connected, then dropped before the stream was stable:
        #: an attempt that found Gerrit unreachable ends the run, as a stable stream does.
        self._drops = 0
        #: When the stream was lost, until it connects again; None while it streams.
        self._lost_at: float | None = None
        #: The current connection's lines read and not yet delivered, and whether one
        #: is being delivered now.
        self._lines: asyncio.Queue[str] | None = None
        self._in_hand = False

    @property
    def live(self) -> bool:
        return self.state is StreamState.CONNECTED

    @property
    def waiting_lines(self) -> int:
        waiting = 0 if self._lines is None else self._lines.qsize()
        return waiting + self._in_hand

    async def run(self) -> None:
        """Stream forever, reconnecting after every failure; stop by cancelling."""
        failures = 0
        while True:
            self._set_state(StreamState.CONNECTING, quiet=failures > 1)
            opened, connects = time.monotonic(), self.connects
            try:
                await self._stream_once()
                failures = 0  # a long stream that Gerrit ended cleanly: retry soon
            except Exception as error:  # nothing may end the stream for good
                # Only a stream that stayed up a while resets the backoff: a server that
                # accepts and at once closes must not be hammered every second.
                lasted = time.monotonic() - opened
                failures = 1 if lasted >= self.settings.healthy_after else failures + 1
                delay = self.settings.backoff(failures)
                connected = lasted if self.connects > connects else None
                self._log_failure(failures, error, connected, delay)
            else:
                delay = self.settings.backoff(failures)
            finally:
                self._set_state(StreamState.DISCONNECTED, quiet=failures > 1)
            # A failure's own line says when the next attempt is; a clean end has none.
            level = logging.INFO if failures == 0 else logging.DEBUG
            log.log(level, "gerrit %s: reconnecting in %.1fs", self.connection.name, delay)
            await asyncio.sleep(delay)

    def _log_failure(
        self, failures: int, error: Exception, connected: float | None, delay: float
    ) -> None:
        """The loss is a warning; each failed reconnect of an outage is not (an hour
        down would be sixty warnings), save a reminder every `REMIND_EVERY` reconnects.
        `connected`: how long the attempt streamed, if it got that far: a stream that
        keeps dropping is said as such (a warning the first time and every reminder),
        not as an unreachable Gerrit. Each line says when the next attempt is."""
        name, why = self.connection.name, said(error)
        dropping, self._dropping = self._dropping, connected is not None and failures > 1
        if connected is None:
            self._drops = 0
        else:  # the first loss after a stable stream starts a new run of drops
            self._drops = 1 if failures == 1 else self._drops + 1
        if self._lost_at is None:
            self._lost_at = time.monotonic()
        # `failures` counts the attempt that lost the stream: the reconnects are the rest.
        reconnects, after = failures - 1, f"next attempt in {_wait(delay)}"
        if failures == 1 and self.connects == 0 and connected is None:
            log.warning("gerrit %s: cannot open the stream (%s); %s", name, why, after)
        elif failures == 1:
            log.warning("gerrit %s: stream lost (%s); %s", name, why, after)
        elif connected is not None:
            self._log_drop(connected, why, after, reminder=not dropping)
        elif reconnects % REMIND_EVERY == 0:
            log.warning(
                "gerrit %s: still unreachable after %d reconnect attempts (%s); %s",
                name,
                reconnects,
                why,
                after,
            )
        else:
            line = "gerrit %s: reconnect attempt %d failed (%s); %s"
            log.info(line, name, reconnects, why, after)

    def _log_drop(self, connected: float, why: str, after: str, *, reminder: bool) -> None:
        """A stream that connected and dropped before it was stable: how many times in a
        row it did, not counting the attempts before that found Gerrit unreachable."""
        name, drops = self.connection.name, self._drops
        warn = reminder or drops % REMIND_EVERY == 0
        level = logging.WARNING if warn else logging.INFO
        if drops == 1:  # the first drop since Gerrit was unreachable
            line = "gerrit %s: stream lost again after %.0fs connected, before it was stable "
            log.log(level, line + "(%s); %s", name, connected, why, after)
            return
        log.log(
            level,
            "gerrit %s: stream lost again after %.0fs connected "
            "(%d attempts in a row without a stable stream; %s); %s",
            name, connected, drops, why, after,
        )  # fmt: skip

    async def close(self) -> None:
        """Drop the current connection (the next loop of `run` reconnects)."""
        if self._ssh is not None:
            self._ssh.close()

    async def _stream_once(self) -> None:
        timeout = self.settings.connect_timeout
        async with await asyncio.wait_for(self._connect(), timeout) as ssh:
            self._ssh = ssh
            process = await asyncio.wait_for(ssh.create_process("gerrit stream-events"), timeout)
            self.connects += 1
            stream_reconnects.labels(self.connection.name).inc()
            self._set_state(StreamState.CONNECTED, detail=self._back_after())
            opened = time.monotonic()
            # Lines are read into a queue from now on, also while catch-up runs: Gerrit
            # drops a subscriber's output when it is not read for long.
            lines: asyncio.Queue[str] = asyncio.Queue()
            self._lines = lines
            reader = asyncio.create_task(self._read(ssh, process, lines))
            try:
                await asyncio.wait_for(self.on_connected(), self.settings.catch_up_timeout)
                await self._deliver(lines, reader)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            await self._ended(process, time.monotonic() - opened)

    async def _deliver(self, lines: asyncio.Queue[str], reader: asyncio.Task[None]) -> None:
        while True:
            line = await lines.get()
            if line is _END:
                reader.result()  # re-raises why the reader stopped, if it failed
                return
            self._in_hand = True
            try:
                await self.on_line(line)
            finally:
                self._in_hand = False

    async def _read(
        self,
        ssh: asyncssh.SSHClientConnection,
        process: asyncssh.SSHClientProcess[str],
        lines: asyncio.Queue[str],
    ) -> None:
        try:
            while True:
                try:
                    line = await asyncio.wait_for(
                        process.stdout.readline(), self.settings.silence_timeout
                    )
                except TimeoutError:
                    if await _answers(ssh):
                        raise StreamStalledError(
                            f"no event for {self.settings.silence_timeout:.0f}s while Gerrit"
                            " answers"
                        ) from None
                    continue  # Gerrit itself is quiet or down; keepalives decide
                if not line:
                    return  # Gerrit ended the stream
                lines.put_nowait(line)
        finally:
            lines.put_nowait(_END)

    async def _ended(self, process: asyncssh.SSHClientProcess[str], lived: float) -> None:
        """Say why Gerrit ended the stream; a quick end is a failure, for the backoff."""
        try:
            why = (await asyncio.wait_for(process.stderr.read(), 5)).strip()
        except (TimeoutError, asyncssh.Error, OSError):
            why = ""
        detail = f"exit status {process.exit_status}" + (f": {printable(why, 500)}" if why else "")
        if lived < self.settings.healthy_after:
            raise StreamEndedError(f"Gerrit ended the stream after {lived:.1f}s ({detail})")
        log.info("gerrit %s: Gerrit ended the stream (%s)", self.connection.name, detail)

    def _connect(self) -> Awaitable[asyncssh.SSHClientConnection]:
        return ssh.connect(
            self.connection,
            keepalive_interval=self.settings.keepalive_interval,
            keepalive_count_max=self.settings.keepalive_count_max,
        )

    def _back_after(self) -> str:
        """How long the stream was away, for the line that says it is back: the outage's
        warning is then closed by a line an operator can match it with."""
        lost_at, self._lost_at = self._lost_at, None
        if lost_at is None:
            return ""
        away = format_duration(time.monotonic() - lost_at)
        # `connects` already counts this connection: 1 is the first this process made.
        if self.connects == 1:
            return f" after {away} of trying"
        return f" again after {away} without it"

    def _set_state(self, state: StreamState, *, quiet: bool = False, detail: str = "") -> None:
        if state != self.state:
            # To or from a live stream is INFO; the connecting/disconnected pair of each
            # failed attempt while Gerrit stays away (`quiet`) is not: one line will do.
            live = StreamState.CONNECTED in (state, self.state)
            level = logging.DEBUG if quiet and not live else logging.INFO
            log.log(level, "gerrit %s: stream %s%s", self.connection.name, state.value, detail)
        self.state = state
        stream_connected.labels(self.connection.name).set(state is StreamState.CONNECTED)


#: Waits shorter than this are said to the tenth of a second.
_TENTHS_BELOW = 10


def _wait(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < _TENTHS_BELOW else format_duration(seconds)


async def _answers(ssh: asyncssh.SSHClientConnection) -> bool:
    try:
        result = await asyncio.wait_for(ssh.run("gerrit version", check=True), 15)
    except (asyncssh.Error, OSError, TimeoutError):
        return False
    return bool(result.stdout)
