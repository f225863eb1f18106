"""A logs root that fills up during a build: the build still ends, as an infrastructure
error (no verdict from a build whose log is lost), and says where."""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Any

import pytest

from crosscheck.executor import Executor, console
from crosscheck.model.build import BuildResult
from tests.unit.executor.conftest import PROJECT, MakeRequest, change_event
from tests.unit.executor.gitrepos import Upstream

#: Lines the disk takes before it is full.
ROOM = 20


class FillingFile:
    def __init__(self, inner: Any) -> None:
        self._inner, self._written = inner, 0

    def write(self, text: str) -> int:
        self._written += 1
        if self._written > ROOM:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self._inner.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class FillingConsole(console.ConsoleLog):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file = FillingFile(self._file)  # type: ignore[assignment]


async def test_a_build_whose_console_fills_the_disk_ends_as_an_infrastructure_error(
    executor: Executor,
    upstream: Upstream,
    make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("crosscheck.executor.executor.ConsoleLog", FillingConsole)
    revision = upstream.change(PROJECT, 31, 1, {"a": "b"}, "Chatty")
    # Far more than a pipe holds: a reader that stopped would leave the step blocked.
    request = make_request("seq 1 200000", "echo after", event=change_event(31, 1, revision))
    async with asyncio.timeout(60):
        outcome = await executor.run(request)
    assert outcome.result is BuildResult.ERROR
    assert outcome.detail is not None
    log_dir = executor.logs_root / outcome.log_url
    assert outcome.detail == (
        f"cannot write the build's console in {log_dir}: No space left on device"
    )
    assert outcome.result.retryable  # tried again later, no vote meanwhile
    (said,) = [
        r for r in caplog.records if r.levelno == logging.ERROR and "console log" in r.getMessage()
    ]
    assert "later lines are lost" in said.getMessage()
    assert len((log_dir / "console.log").read_text().splitlines()) == ROOM
