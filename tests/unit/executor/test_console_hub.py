"""The executor tells its console hub of every line, once the line is in console.log:
a follower woken by the hub finds it there."""

from __future__ import annotations

from pathlib import Path

from crosscheck.executor import Executor, LocalNodeProvider, MirrorCache
from crosscheck.executor.layout import log_path
from crosscheck.model.build import BuildResult
from tests.unit.executor.conftest import PROJECT, MakeRequest, change_event
from tests.unit.executor.gitrepos import Upstream


class Hub:
    """Notes, at each wake, how many lines the build's console.log holds."""

    def __init__(self, console: Path) -> None:
        self.console = console
        self.woken: list[tuple[str, int]] = []

    def wrote(self, build_id: str) -> None:
        self.woken.append((build_id, len(self.console.read_text().splitlines())))


async def test_every_console_line_wakes_the_hub_after_it_is_written(
    tmp_path: Path, upstream: Upstream, make_request: MakeRequest
) -> None:
    revision = upstream.change(PROJECT, 1042, 1, {"driver.py": "ok\n"}, "Fix")
    request = make_request("echo one", "echo two", event=change_event(1042, 1, revision))
    logs = tmp_path / "logs"
    hub = Hub(logs.joinpath(*log_path(request).parts) / "console.log")
    provider = LocalNodeProvider(tmp_path / "work", slots=1)
    executor = Executor(provider, logs, MirrorCache(tmp_path / "git"), console_hub=hub)
    lines: list[str] = []

    outcome = await executor.run(request, listeners=[lines.append])

    assert outcome.result is BuildResult.SUCCESS
    assert hub.woken == [(request.build_id, n) for n in range(1, len(lines) + 1)]
    assert len(lines) == len(hub.console.read_text().splitlines())
