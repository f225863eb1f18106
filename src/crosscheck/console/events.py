"""The console's event stream (text/event-stream), frame by frame.

    retry: 2000                     first: how soon a browser reconnects
    id: 12                          a line; the id is its number, so a reconnecting
    event: line                     EventSource resumes after it (Last-Event-ID)
    data: {"n": 12, ...}
    : keepalive                     a comment after HEARTBEAT seconds without a line
    event: end                      last: the build ended and its file was read
    data: {"state", "result", "detail"}

A line's data is JSON in ASCII: no character of a line can end a frame early.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from enum import StrEnum
from typing import Any

from crosscheck.console.follow import Line
from crosscheck.console.lines import shown

#: Proxies and browsers drop a connection silent for a minute or so.
HEARTBEAT = 15.0
RETRY_MILLISECONDS = 2000


class Format(StrEnum):
    #: For the page: the timestamp apart, the text as escaped HTML.
    HTML = "html"
    #: For a terminal: the line as written (`text`), its escapes for the client to filter.
    TEXT = "text"


def frame(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=True)}\n\n"


def line_data(line: Line, shape: Format) -> dict[str, Any]:
    if shape is Format.TEXT:
        return {"n": line.number, "text": line.text}
    return shown(line).event()


async def stream(
    batches: AsyncGenerator[list[Line], None],
    shape: Format,
    end: Callable[[], Awaitable[dict[str, Any]]],
) -> AsyncIterator[str]:
    """The frames of `batches` (an empty one is a heartbeat), then `end()`'s."""
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    async with aclosing(batches):
        async for batch in batches:
            if not batch:
                yield ": keepalive\n\n"
                continue
            yield "".join(frame("line", line_data(line, shape), line.number) for line in batch)
    yield frame("end", await end())
