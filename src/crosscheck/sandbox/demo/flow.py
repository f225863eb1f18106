"""The demo's steps: check the configuration, (re)start the CI, push a change, wait for the vote.

Everything the user then sees comes from Gerrit (the CI account's vote and its
tagged message), never from crosscheck's own store: the demo proves the loop as
a developer upstream would see it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crosscheck.config import load_config
from crosscheck.drivers.gerrit.rest import GerritRestClient, change_id
from crosscheck.model.config import Config
from crosscheck.model.report import report_tag
from crosscheck.results.backfill_messages import parse_ci_message
from crosscheck.sandbox import daemons
from crosscheck.sandbox.demo.background import BackgroundServe
from crosscheck.sandbox.errors import DemoError
from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState
from crosscheck.sandbox.gerrit.site import free_port, install_checks_plugin, port_in_use

#: The connection `crosscheck sandbox up` writes into its connection.yaml.
CONNECTION = "sandbox"
LABEL = "Verified"
POLL_SECONDS = 0.5
#: How often to say what the serve is busy with while the report is awaited.
NOTE_SECONDS = 15.0

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    config_dir: Path
    port: int | None = None
    #: Seconds to wait for the report once the change is pushed.
    timeout: float = 180.0
    #: Seconds to wait for the serve to listen to the sandbox.
    start_timeout: float = 60.0


@dataclass(frozen=True)
class DemoResult:
    change: PushedChange
    change_url: str
    vote: int
    message: str
    #: (job, log URL) in the message's order.
    log_urls: list[tuple[str, str]]
    #: Seconds from the push to the report being visible in Gerrit.
    seconds: float
    pid: int
    replaced: int | None
    web_url: str
    serve: BackgroundServe


def demo_dir(sandbox_dir: Path) -> Path:
    """The demo's serve belongs to its sandbox: one sandbox, at most one demo CI."""
    return sandbox_dir / "demo"


async def run_demo(state: SandboxState, options: DemoOptions, say: Say) -> DemoResult:
    paths = [options.config_dir, state.connection_file]
    project = state.projects[0]
    check_config(paths, project)
    serve = BackgroundServe(demo_dir(state.state_dir), sandbox_dir=state.state_dir)
    started = serve.start(paths, _port(serve, options.port))
    web_url = f"http://127.0.0.1:{started.port}"
    install_checks_plugin(state, web_url)  # the site's Checks tab reads this serve
    verb = f"restarted (was pid {started.replaced})" if started.replaced else "started"
    say(f"crosscheck serve {verb}: pid {started.pid}, {web_url}, log {serve.log_file}")
    await wait_listening(serve, started.pid, options.start_timeout)
    began = time.monotonic()
    pushed = await push_sample(state, project, serve.directory)
    say(
        f"Pushed change {pushed.number},{pushed.patchset} to {project}; "
        f"waiting for crosscheck's report (up to {options.timeout:.0f}s)"
    )
    vote, message = await wait_report(state, pushed, serve, started.pid, options=options, say=say)
    return DemoResult(
        change=pushed,
        change_url=state.rest_url(pushed.project, pushed.number),
        vote=vote,
        message=message,
        log_urls=[(j.job, j.url) for j in parse_ci_message(message).jobs if j.url],
        seconds=time.monotonic() - began,
        pid=started.pid,
        replaced=started.replaced,
        web_url=web_url,
        serve=serve,
    )


async def push_sample(state: SandboxState, project: str, directory: Path) -> PushedChange:
    """A new change on the branch tip, from a clone of its own: demos run at once (or a
    `sandbox push` beside them) never share a working tree."""
    with tempfile.TemporaryDirectory(prefix="push-", dir=directory) as scratch:
        repo = await SandboxRepo(state, project, Path(scratch) / "repo").open()
        # Gerrit's commit-msg hook derives the Change-Id from the parent, the committer
        # (to the second) and the message: a unique message keeps two demos started in the
        # same second from becoming two patchsets of one change.
        unique = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        message = f"Sample change for crosscheck\n\nPushed by `crosscheck sandbox demo` ({unique})."
        return await repo.push_change({f"demo/sample-{unique}.txt": "hello, crosscheck\n"}, message)


def check_config(paths: list[Path], project: str) -> Config:
    """The configuration with the sandbox's connection, as `crosscheck config check` sees it."""
    command = "crosscheck config check " + " ".join(str(p) for p in paths)
    if not paths[0].is_dir():
        raise DemoError(
            f"no configuration directory {paths[0]}: run from the repository's root, "
            "or give --config DIR"
        )
    result = load_config(paths)
    if result.config is None:
        listing = "\n".join(str(error) for error in result.errors)
        raise DemoError(f"the demo's configuration has errors:\n{listing}\n(see `{command}`)")
    if not any(
        jobs for entry in result.config.projects_for(project) for jobs in entry.pipelines.values()
    ):
        raise DemoError(
            f"no pipeline in {paths[0]} runs a job for {project}, the project the demo "
            "pushes to: add a `- project:` element for it"
        )
    return result.config


def _port(serve: BackgroundServe, wanted: int | None) -> int:
    """The port asked for, else the last run's (after its serve stopped), else a free one."""
    if wanted is not None:
        return wanted
    previous = serve.port
    if previous is not None and (serve.running_pid() is not None or not port_in_use(previous)):
        return previous
    return free_port()


async def wait_listening(serve: BackgroundServe, pid: int, timeout: float) -> None:
    """Until the serve answers HTTP and listens to the sandbox; fails fast if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _require_alive(serve, pid)
        api = f"http://127.0.0.1:{serve.port}/openapi.json"
        if serve.listening(CONNECTION) and await daemons.answers(api):
            return
        await asyncio.sleep(0.2)
    raise DemoError(
        f"crosscheck serve (pid {pid}) did not start listening to the sandbox within "
        f"{timeout:.0f}s; the end of {serve.log_file}:\n{serve.log_tail()}"
    )


async def wait_report(
    state: SandboxState,
    pushed: PushedChange,
    serve: BackgroundServe,
    pid: int,
    *,
    options: DemoOptions,
    say: Say,
) -> tuple[int, str]:
    """The CI account's vote and crosscheck's message on the pushed patchset."""
    began = time.monotonic()
    next_note = began + NOTE_SECONDS
    path = f"/changes/{change_id(pushed.project, pushed.number)}"
    params = {"o": ["DETAILED_LABELS", "DETAILED_ACCOUNTS", "MESSAGES"]}
    async with GerritRestClient(state.http_url, state.ci.username, state.ci.http_password) as rest:
        while time.monotonic() < began + options.timeout:
            _require_alive(serve, pid)
            found = report_on(await rest.get(path, params=params), pushed, state.ci.username)
            if found is not None:
                return found
            if time.monotonic() > next_note:
                say(f"  still waiting ({time.monotonic() - began:.0f}s): {_queue(serve)}")
                next_note += NOTE_SECONDS
            await asyncio.sleep(POLL_SECONDS)
    raise DemoError(
        f"no report from crosscheck on change {pushed.number},{pushed.patchset} within "
        f"{options.timeout:.0f}s, though crosscheck serve (pid {pid}) still runs "
        f"({_queue(serve)}): see its log {serve.log_file}; its end:\n{serve.log_tail()}"
    )


def _queue(serve: BackgroundServe) -> str:
    """Why a report may be slow: a serve restarted after a while first tests the
    changes pushed while it was stopped (catch-up), as a CI must."""
    active = serve.active_items()
    if active <= 1:
        return f"{active} item queued or running"
    return f"{active} items queued or running, changes pushed while it was stopped among them"


def report_on(detail: Any, pushed: PushedChange, ci_user: str) -> tuple[int, str] | None:
    """(vote, message) once both are on the patchset: Gerrit records them together."""
    messages = [
        m["message"]
        for m in detail.get("messages", [])
        if str(m.get("tag", "")).startswith(report_tag(""))  # any pipeline's report
        and m.get("_revision_number") == pushed.patchset
    ]
    votes = [
        int(v["value"])
        for v in detail.get("labels", {}).get(LABEL, {}).get("all", [])
        if v.get("username") == ci_user and v.get("value")
    ]
    if not messages or not votes:
        return None
    return votes[0], messages[-1]


def _require_alive(serve: BackgroundServe, pid: int) -> None:
    """Fail fast when no serve runs. Another demo run may have replaced ours: its serve
    reports on our change as well."""
    if serve.running_pid() is None:
        raise DemoError(
            f"crosscheck serve (pid {pid}) exited; the end of {serve.log_file}:\n{serve.log_tail()}"
        )
