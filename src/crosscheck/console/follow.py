"""A console.log read from a line on while it grows, until its build ended.

Lines are numbered from 1 as the file holds them, so `#L12`, an event's id and a
`from=13` all name the same line. A last line without its newline is held until the
newline comes: a follower never shows half a line it would have to take back. Once
the build ended (its row is no longer waiting or running) the file is read to its end
once more, since the last lines are written before the row moves, and the held part,
if any, is the last line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from crosscheck.console.hub import Watch

#: Bytes per read: a burst of output becomes batches, never one huge read.
CHUNK = 256 * 1024
#: A "line" longer than this without a newline is cut: the executor cuts its lines
#: at 64 KiB, so only a file written by something else gets here.
MAX_HELD = 4 * 1024 * 1024
#: Without a wake from the hub (another process writes the file, or the build's row
#: moved), the file and the row are looked at this often.
POLL = 0.5


@dataclass(frozen=True)
class Line:
    number: int
    #: As written, timestamp included, without its newline.
    text: str


class LineReader:
    """The complete lines of a file from line `start` on, a read at a time."""

    def __init__(self, path: Path, start: int = 1) -> None:
        self._file: BinaryIO = path.open("rb")
        self._skip = max(start, 1) - 1
        self._next = max(start, 1)
        self._held = b""
        #: Whether the last read reached the end of what the file holds now.
        self.at_end = False

    def __enter__(self) -> LineReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def next_number(self) -> int:
        """The number the next line read will have."""
        return self._next

    def read(self, limit: int = CHUNK) -> list[Line]:
        """The lines completed by up to `limit` more bytes (maybe none)."""
        data = self._file.read(limit)
        self.at_end = len(data) < limit
        data = self._skipped(data)
        if not data:
            return []
        *complete, self._held = (self._held + data).split(b"\n")
        if len(self._held) > MAX_HELD:
            complete.append(self._held)
            self._held = b""
        return [self._line(raw) for raw in complete]

    def rest(self) -> list[Line]:
        """The held part as the last line, once nothing more will be written."""
        if not self._held:
            return []
        held, self._held = self._held, b""
        return [self._line(held)]

    def close(self) -> None:
        self._file.close()

    def _line(self, raw: bytes) -> Line:
        line = Line(self._next, raw.decode("utf-8", errors="replace"))
        self._next += 1
        return line

    def _skipped(self, data: bytes) -> bytes:
        """`data` without the lines before `start`, counted in place (no copy per line)."""
        if not self._skip:
            return data
        newlines = data.count(b"\n")
        if newlines < self._skip:
            self._skip -= newlines
            return b""
        position = 0
        while self._skip:
            position = data.index(b"\n", position) + 1
            self._skip -= 1
        return data[position:]


def lines_of(path: Path, start: int = 1, *, complete: bool) -> Iterator[Line]:
    """The file's lines from `start` as it is now; a held last line only when `complete`
    (its build ended). Blocking: for a thread, or a small file."""
    with LineReader(path, start) as reader:
        while True:
            yield from reader.read()
            if reader.at_end:
                break
        if complete:
            yield from reader.rest()


@dataclass(frozen=True)
class Where:
    """Where a build's console is now, and whether the build may still write to it."""

    #: console.log, once the build has a log directory (None: not yet, or never).
    path: Path | None
    #: Waiting or running.
    live: bool


Locate = Callable[[], Awaitable[Where]]


class _Pacer:
    """The waits between looks: cut short by the hub, at most `poll` seconds, and what
    says when the caller's connection needs a heartbeat."""

    def __init__(self, watch: Watch, poll: float, heartbeat: float | None) -> None:
        self._watch = watch
        self._poll = poll
        self._heartbeat = heartbeat
        self._quiet_since = time.monotonic()
        #: Whether the last wait ended with a write rather than its time.
        self.woken = False

    def sent(self) -> None:
        self._quiet_since = time.monotonic()

    def beat_due(self) -> bool:
        if self._heartbeat is None:
            return False
        if time.monotonic() - self._quiet_since < self._heartbeat:
            return False
        self.sent()
        return True

    async def pause(self) -> None:
        timeout = self._poll
        if self._heartbeat is not None:
            left = self._heartbeat - (time.monotonic() - self._quiet_since)
            timeout = max(0.0, min(timeout, left))
        self.woken = await self._watch.wait(timeout)


async def follow(
    locate: Locate,
    watch: Watch,
    start: int = 1,
    *,
    poll: float = POLL,
    heartbeat: float | None = None,
) -> AsyncGenerator[list[Line], None]:
    """Batches of lines from `start` until the build ended and its file was read to the
    end. `watch` wakes it when a line was written; `locate` reads the build's row, but
    only after a wait that ran out: the row moves after the last line, so a wake never
    means the end. With `heartbeat`, an empty batch comes after that many seconds
    without a line, for the caller to keep its connection alive."""
    pacer = _Pacer(watch, poll, heartbeat)
    path: Path | None = None
    while path is None:  # a waiting build has no log directory yet
        where = await locate()
        if where.path is not None and where.path.is_file():
            path = where.path
        elif not where.live:
            return
        elif pacer.beat_due():
            yield []
        else:
            await pacer.pause()
    with LineReader(path, start) as reader:
        async with aclosing(_read_on(reader, locate, pacer)) as batches:
            async for batch in batches:
                yield batch


async def _read_on(
    reader: LineReader, locate: Locate, pacer: _Pacer
) -> AsyncGenerator[list[Line], None]:
    ending = False
    while True:
        lines = await asyncio.to_thread(reader.read)
        if lines:
            yield lines
            pacer.sent()
            continue
        if not reader.at_end:
            continue  # a long line being held: read on
        if ending:
            if rest := reader.rest():
                yield rest
            return
        # The first look too: the build may have ended long ago.
        if not pacer.woken and not (await locate()).live:
            ending = True  # and read to the end once more
        elif pacer.beat_due():
            yield []
        else:
            await pacer.pause()
