"""An outage is one warning, then a reminder now and then: not one warning a minute."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from crosscheck.drivers.gerrit.stream import (
    REMIND_EVERY,
    GerritStream,
    StreamSettings,
    StreamState,
)

from .helpers import CONNECTION


async def _ignore(line: str) -> None:
    del line


async def run_until(
    stream: GerritStream,
    attempt: Callable[[], Coroutine[Any, Any, None]],
    done: asyncio.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Runs the stream, each attempt to connect being `attempt`, until `done` is set."""
    stream._stream_once = attempt  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="crosscheck.drivers.gerrit.stream")
    running = asyncio.create_task(stream.run())
    await asyncio.wait_for(done.wait(), 10)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


async def stream_attempts(
    caplog: pytest.LogCaptureFixture,
    attempts: int,
    error: Exception,
    *,
    connects: bool,
    streamed_before: bool = True,
) -> list[str]:
    """The stream's warnings over `attempts` attempts that each end with `error` (after
    connecting, when `connects`), then one that stays up. `streamed_before`: the stream
    had been up in this process before the first of them."""
    stream = GerritStream(CONNECTION, _ignore, settings=StreamSettings(base_backoff=0))
    stream.connects = int(streamed_before)
    made = 0
    done = asyncio.Event()

    async def attempt() -> None:
        nonlocal made
        made += 1
        if made > attempts:
            done.set()
            await asyncio.Event().wait()  # connected at last: until canceled
        if connects:
            stream.connects += 1
        raise error

    await run_until(stream, attempt, done, caplog)
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def test_a_long_outage_warns_once_then_reminds_every_few_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    why = "(ConnectionRefusedError: [Errno 111] Connection refused)"
    warnings = await stream_attempts(caplog, 2 * REMIND_EVERY + 1, refused, connects=False)
    # The loss, then a reminder every REMIND_EVERY reconnects, counted as the INFO lines
    # count them: each line says when the next attempt is.
    assert warnings == [
        f"gerrit review: stream lost {why}; next attempt in 0.0s",
        f"gerrit review: still unreachable after {REMIND_EVERY} reconnect attempts {why}; "
        "next attempt in 0.0s",
        f"gerrit review: still unreachable after {2 * REMIND_EVERY} reconnect attempts {why}; "
        "next attempt in 0.0s",
    ]
    failed = [r.getMessage() for r in caplog.records if "reconnect attempt " in r.getMessage()]
    numbers = [int(m.split("reconnect attempt ")[1].split()[0]) for m in failed]
    reminded = (REMIND_EVERY, 2 * REMIND_EVERY)
    assert numbers == [n for n in range(1, 2 * REMIND_EVERY + 1) if n not in reminded]
    assert failed[0] == f"gerrit review: reconnect attempt 1 failed {why}; next attempt in 0.0s"
    assert all(
        r.levelno == logging.INFO for r in caplog.records if "reconnect attempt " in r.getMessage()
    )
    # One INFO line per failed reconnect: past the start and the first reconnect, the
    # connecting/disconnected lines are DEBUG, and the failure line says the wait.
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert sum("stream connecting" in m for m in info) == 2
    assert sum("reconnecting in" in m for m in info) == 0


async def test_a_gerrit_away_when_the_stream_first_opens_is_not_said_as_a_lost_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    warnings = await stream_attempts(caplog, 2, refused, connects=False, streamed_before=False)
    assert warnings == [
        "gerrit review: cannot open the stream (ConnectionRefusedError: [Errno 111] "
        "Connection refused); next attempt in 0.0s"
    ]


async def test_a_timeout_without_a_message_is_said_as_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """asyncio's timeouts carry no message: the line must not end in a dangling colon."""
    warnings = await stream_attempts(caplog, REMIND_EVERY + 1, TimeoutError(), connects=False)
    assert warnings == [
        "gerrit review: stream lost (TimeoutError (no answer in time)); next attempt in 0.0s",
        f"gerrit review: still unreachable after {REMIND_EVERY} reconnect attempts "
        "(TimeoutError (no answer in time)); next attempt in 0.0s",
    ]


async def test_a_stream_that_connects_then_drops_says_so_not_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Gerrit accepts, streams a moment and drops (a proxy's idle timeout, a restart):
    the backoff keeps growing, and the log says the stream came and went."""
    reset = ConnectionResetError(104, "Connection reset by peer")
    warnings = await stream_attempts(caplog, REMIND_EVERY, reset, connects=True)
    assert warnings[0] == (
        "gerrit review: stream lost (ConnectionResetError: [Errno 104] Connection reset by "
        "peer); next attempt in 0.0s"
    )
    assert warnings[1] == (
        "gerrit review: stream lost again after 0s connected (2 attempts in a row without a "
        "stable stream; ConnectionResetError: [Errno 104] Connection reset by peer); "
        "next attempt in 0.0s"
    )
    assert warnings[2].startswith(
        f"gerrit review: stream lost again after 0s connected ({REMIND_EVERY} attempts"
    )
    assert len(warnings) == 3
    again = [r for r in caplog.records if "stream lost again" in r.getMessage()]
    assert len(again) == REMIND_EVERY - 1
    assert not [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert not [r for r in caplog.records if "reconnect attempt" in r.getMessage()]


async def connected_lines(
    caplog: pytest.LogCaptureFixture, connects_at: tuple[int, ...]
) -> list[str]:
    """The "stream connected" lines of a stream whose attempts numbered `connects_at`
    connect (each but the last then dropped by Gerrit) and the others are refused."""
    stream = GerritStream(CONNECTION, _ignore, settings=StreamSettings(base_backoff=0))
    made = 0
    up = asyncio.Event()

    async def attempt() -> None:
        nonlocal made
        made += 1
        if made not in connects_at:
            raise ConnectionRefusedError(111, "Connection refused")
        stream.connects += 1
        stream._set_state(StreamState.CONNECTED, detail=stream._back_after())
        if made == connects_at[-1]:
            up.set()
            await asyncio.Event().wait()
        raise ConnectionResetError(104, "Connection reset by peer")

    await run_until(stream, attempt, up, caplog)
    return [r.getMessage() for r in caplog.records if "stream connected" in r.getMessage()]


async def test_the_line_that_says_the_stream_is_back_says_how_long_it_was_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Connects at the start, and again after three refusals.
    assert await connected_lines(caplog, (1, 5)) == [
        "gerrit review: stream connected",
        "gerrit review: stream connected again after 0s without it",
    ]


async def test_a_stream_that_opens_at_last_after_a_start_without_gerrit_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Three refusals, then Gerrit is up.
    assert await connected_lines(caplog, (4,)) == [
        "gerrit review: stream connected after 0s of trying"
    ]


class _EndedProcess:
    """What asyncssh hands back once Gerrit ended `stream-events`: its status and stderr."""

    exit_status = 1

    class stderr:  # noqa: N801 -- the attribute asyncssh's process has
        @staticmethod
        async def read() -> str:
            return "fatal: \x1b]0;owned\x07\x1b[2J\nINFO forged line"


async def test_why_gerrit_ended_the_stream_is_logged_printable() -> None:
    stream = GerritStream(CONNECTION, _ignore, settings=StreamSettings(healthy_after=60))
    with pytest.raises(Exception, match="ended the stream") as ended:
        await stream._ended(_EndedProcess(), lived=1.0)  # type: ignore[arg-type]
    said = str(ended.value)
    assert said.isprintable()
    assert "exit status 1: fatal: \\x1b]0;owned\\x07\\x1b[2J\\nINFO forged line" in said


async def test_a_drop_after_an_outage_is_not_counted_with_its_unreachable_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Gerrit down for a while, back, and the first stream dropped before it was stable:
    the drop is said as one, not as the outage's attempts in a row."""
    stream = GerritStream(CONNECTION, _ignore, settings=StreamSettings(base_backoff=0))
    stream.connects = 1
    refused = ConnectionRefusedError(111, "Connection refused")
    reset = ConnectionResetError(104, "Connection reset by peer")
    # The loss, REMIND_EVERY + 3 attempts refused, then two that connect and drop.
    errors = [refused] * (REMIND_EVERY + 4) + [reset, reset]
    done = asyncio.Event()

    async def attempt() -> None:
        if not errors:
            done.set()
            await asyncio.Event().wait()
        error = errors.pop(0)
        if error is reset:
            stream.connects += 1
        raise error

    await run_until(stream, attempt, done, caplog)
    dropped = [
        (r.levelno, r.getMessage()) for r in caplog.records if "lost again" in r.getMessage()
    ]
    assert dropped == [
        (
            logging.WARNING,
            "gerrit review: stream lost again after 0s connected, before it was stable "
            "(ConnectionResetError: [Errno 104] Connection reset by peer); next attempt in 0.0s",
        ),
        (
            logging.INFO,
            "gerrit review: stream lost again after 0s connected (2 attempts in a row without "
            "a stable stream; ConnectionResetError: [Errno 104] Connection reset by peer); "
            "next attempt in 0.0s",
        ),
    ]
