"""`crosscheck serve` against two sandbox Gerrits at once, and what each Gerrit shows of it.

The first sandbox is the `upstream` connection (the community whose changes are tested,
OpenStack say), the second the `integrating` one (the community that integrates them,
OPNFV say). One `check` pipeline triggers on both; each change is reported only on the
Gerrit it came from.

    with running_two_gerrits(upstream_dir, integrating_dir, tmp / "two") as gerrits:
        pushed = asyncio.run(gerrits.upstream.push({"a.txt": "a\\n"}, "A change"))
        ...

Tests are async, so inside one: `await gerrits.upstream.push(...)`, then
`await gerrits.upstream.wait_reports(pushed, gerrits.serve)`. A change holding a file
`HOLD` keeps its `hello` build running until `gerrits.release(<its content>)`; a file
`FAIL` fails it. Extra configuration (jobs, projects, scenarios, more pipelines) goes
in `extra_yaml`; `ci_yaml` replaces everything but the connections and the executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from crosscheck.sandbox.gerrit import PushedChange, SandboxRepo, SandboxState
from crosscheck.sandbox.gerrit.manager import connection_config
from crosscheck.sandbox.gerrit.provision import ensure_ssh_key

from .ci_loop_harness import (
    KILL_GRACE,
    ServeProcess,
    change_detail,
    ci_messages,
    ci_vote,
    comment,
    get,
    poll,
)
from .gerrit_clients import admin_rest

UPSTREAM = "upstream"
INTEGRATING = "integrating"
#: Projects every sandbox has (`up --project sandbox/second`): distinct names, so the
#: same change number on both Gerrits is the only thing the two changes share.
UPSTREAM_PROJECT = "sandbox/ci-sandbox"
INTEGRATING_PROJECT = "sandbox/second"

#: One pipeline for both Gerrits: new patchsets, changes ready for review and `recheck`;
#: Verified +1/-1 on the change's own Gerrit.
CHECK_PIPELINE = """\
- pipeline:
    name: check
    manager: independent
    trigger:
      upstream:
        - event: [patchset-created, wip-state-changed]
        - {event: comment-added, comment: '(?m)^recheck$'}
      integrating:
        - event: [patchset-created, wip-state-changed]
        - {event: comment-added, comment: '(?m)^recheck$'}
    success:
      upstream: {labels: {Verified: 1}}
      integrating: {labels: {Verified: 1}}
    failure:
      upstream: {labels: {Verified: -1}}
      integrating: {labels: {Verified: -1}}
"""

#: `hello` says it is held (GATE.held) and waits while the change's HOLD names a gate
#: file not yet created, then fails when the change has a FAIL file.
HELLO_JOB = """\
- job:
    name: hello
    node: local
    run:
      - 'if [ -f HOLD ]; then touch "{gates}/$(cat HOLD).held"; fi'
      - 'while [ -f HOLD ] && [ ! -e "{gates}/$(cat HOLD)" ]; do sleep 0.2; done'
      - 'test ! -e FAIL'
"""

PROJECTS = f"""\
- project:
    name: {UPSTREAM_PROJECT}
    connection: upstream
    check: {{jobs: [hello]}}
- project:
    name: {INTEGRATING_PROJECT}
    connection: integrating
    check: {{jobs: [hello]}}
"""


def default_ci_yaml(gates: Path) -> str:
    """The local label, the `check` pipeline on both Gerrits, `hello` on one project each."""
    return "- label:\n    name: local\n" + CHECK_PIPELINE + HELLO_JOB.format(gates=gates) + PROJECTS


def connections_yaml(upstream: SandboxState, integrating: SandboxState) -> str:
    """Both sandboxes' connections, as `crosscheck sandbox up` writes them, renamed."""
    return connection_config(upstream, UPSTREAM) + connection_config(integrating, INTEGRATING)


def write_two_gerrit_config(
    directory: Path,
    upstream: SandboxState,
    integrating: SandboxState,
    *,
    gates: Path,
    ci_yaml: str | None = None,
    extra_yaml: str = "",
    slots: int = 2,
) -> Path:
    """A configuration directory for serve: connections.yaml and ci.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "connections.yaml").write_text(connections_yaml(upstream, integrating))
    ci = default_ci_yaml(gates) if ci_yaml is None else ci_yaml
    # Unconfined: the held builds write and read gates in the test's own directory.
    executor = f"- executor:\n    slots: {slots}\n    kill_grace: {KILL_GRACE}\n    confine: none\n"
    (directory / "ci.yaml").write_text(ci + extra_yaml + executor)
    return directory


class TwoGerritServe(ServeProcess):
    """Serve listening to both connections."""

    async def ready(self, timeout: float = 30) -> None:
        """Both cursors exist: events on either Gerrit from now on are caught up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.require_alive()
            with contextlib.suppress(sqlite3.OperationalError):  # not migrated yet
                rows = self.query("SELECT connection FROM event_cursors")
                if {UPSTREAM, INTEGRATING} <= {name for (name,) in rows}:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError(f"crosscheck serve never listened to both:\n{self.log_tail()}")

    def status(self) -> dict[str, Any]:
        """`crosscheck status --json`, as an operator runs it."""
        command = [sys.executable, "-m", "crosscheck", "status", "--url", self.url, "--json"]
        completed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
        found: dict[str, Any] = json.loads(completed.stdout)
        return found

    async def metric(self, name: str, connection: str) -> float | None:
        """A sample of serve's /metrics for one connection, None when absent."""
        text = (await get(f"{self.url}/metrics")).text
        prefix = f'{name}{{connection="{connection}"}} '
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line.removeprefix(prefix))
        return None

    def origins(self, connection: str, pushed: PushedChange) -> list[str]:
        """How the events that enqueued the change's items came: stream, catchup..."""
        rows = self.query(
            "SELECT event FROM items WHERE connection = ? AND change_number = ? "
            "AND patchset = ? ORDER BY id",
            connection,
            pushed.number,
            pushed.patchset,
        )
        return [str(json.loads(event)["origin"]) for (event,) in rows]

    def built(self, connection: str, pushed: PushedChange) -> list[str]:
        """The jobs built for a change of one connection, every attempt."""
        rows = self.query(
            "SELECT builds.job FROM builds JOIN items ON builds.item_id = items.id "
            "WHERE items.connection = ? AND items.change_number = ? AND items.patchset = ?",
            connection,
            pushed.number,
            pushed.patchset,
        )
        return sorted(job for (job,) in rows)


@dataclass
class Gerrit:
    """One sandbox under its connection name: push to it, read what crosscheck said."""

    name: str
    state: SandboxState
    #: Where pushes go unless told otherwise.
    project: str
    workdir: Path

    async def repo(self, project: str | None = None) -> SandboxRepo:
        project = project or self.project
        where = self.workdir / self.name / project.replace("/", "-")
        return await SandboxRepo(self.state, project, where).open()

    async def push(
        self, files: dict[str, str], subject: str, *, project: str | None = None, **options: Any
    ) -> PushedChange:
        """A new change (or, with amend=, patchset); options as SandboxRepo.push_change."""
        repo = await self.repo(project)
        return await repo.push_change(files, subject, **options)

    async def detail(self, pushed: PushedChange) -> Any:
        return await change_detail(self.state, pushed)

    async def messages(self, pushed: PushedChange) -> list[Any]:
        """crosscheck's messages on the change (tagged autogenerated:crosscheck:check)."""
        return ci_messages(await self.detail(pushed))

    async def vote(self, pushed: PushedChange) -> int | None:
        """The CI account's Verified vote on the change, None without one."""
        return ci_vote(await self.detail(pushed))

    async def wait_reports(
        self, pushed: PushedChange, serve: ServeProcess, count: int = 1, timeout: float = 60
    ) -> Any:
        """The change's detail once it carries `count` crosscheck messages."""

        async def reported() -> Any:
            detail = await self.detail(pushed)
            return detail if len(ci_messages(detail)) >= count else None

        what = f"{count} report(s) on {self.name} change {pushed.number}"
        return await poll(reported, timeout, what, serve)

    async def comment(self, pushed: PushedChange, message: str) -> None:
        """A review message by the admin (a developer), e.g. `recheck`."""
        await comment(self.state, pushed, message)

    async def admin_ssh(self, command: str) -> str:
        """A Gerrit SSH command as the admin; its output."""
        async with asyncssh.connect(
            "127.0.0.1",
            port=self.state.ssh_port,
            username=self.state.admin.username,
            client_keys=[str(self.state.admin.ssh_key)],
            known_hosts=str(self.state.known_hosts),
        ) as ssh:
            return str((await ssh.run(command, check=True)).stdout)

    @contextlib.asynccontextmanager
    async def stream_cut(self) -> AsyncIterator[None]:
        """The CI account's stream-events cut, and kept from coming back until the end.

        Its SSH keys go (REST stays, as when only Gerrit's SSH port is unreachable) and
        Gerrit closes its sessions; the keys come back on leaving.
        """
        async with admin_rest(self.state) as admin:
            where = f"/accounts/{self.state.ci.username}/sshkeys"
            keys = await admin.get(where)
            for key in keys:
                await admin.delete(f"{where}/{key['seq']}")
            try:
                await self.close_ci_connections()
                yield
            finally:
                for key in keys:
                    await ensure_ssh_key(admin, self.state.ci.username, key["ssh_public_key"])

    async def close_ci_connections(self) -> None:
        """Gerrit's own `close-connection` on every SSH session of the CI account."""
        listing = await self.admin_ssh("gerrit show-connections --wide")
        sessions = [
            line.split()[0] for line in listing.splitlines() if self.state.ci.username in line
        ]
        if sessions:
            await self.admin_ssh("gerrit close-connection --wait " + " ".join(sessions))

    async def private_changes(self, count: int) -> list[int]:
        """`count` private changes' numbers: the CI account sees neither the changes nor
        their events, so serve never hears of them. Each takes the next change number."""
        async with admin_rest(self.state) as admin:
            limit = asyncio.Semaphore(8)

            async def one() -> int:
                filler = {
                    "project": self.project,
                    "branch": "master",
                    "subject": "A change number taken",
                    "is_private": True,
                }
                async with limit:
                    created = await admin.post("/changes/", filler)
                return int(created["_number"])

            return list(await asyncio.gather(*(one() for _ in range(count))))


async def align_change_numbers(*gerrits: Gerrit) -> int:
    """Make the next change pushed to each Gerrit get the same, unused number; that number.

    The Gerrits behind take numbers with private changes until they catch up. (`gerrit
    sequence set` is no use here: Gerrit 3.10 handed a pushed change's number out twice
    after it, and the second push failed with "internal error".)
    """
    taken = [max(await g.private_changes(1)) for g in gerrits]
    number = max(taken) + 1
    for gerrit, newest in zip(gerrits, taken, strict=True):
        if newest + 1 < number:
            await gerrit.private_changes(number - newest - 1)
    return number


@dataclass
class TwoGerrits:
    """A running serve and both Gerrits it listens to."""

    serve: TwoGerritServe
    upstream: Gerrit
    integrating: Gerrit
    #: A held build goes on once the file its change's HOLD names exists here.
    gates: Path

    def gerrit(self, name: str) -> Gerrit:
        return {UPSTREAM: self.upstream, INTEGRATING: self.integrating}[name]

    def release(self, gate: str) -> None:
        (self.gates / gate).touch()

    async def wait_held(self, gate: str, timeout: float = 60) -> None:
        """Until a build held at `gate` runs: its change was fetched, it waits for us."""

        async def held() -> bool | None:
            return (self.gates / f"{gate}.held").exists() or None

        await poll(held, timeout, f"a build held at {gate}", self.serve)

    @staticmethod
    def hold() -> tuple[dict[str, str], str]:
        """Files that hold a change's `hello` build, and the gate that releases it."""
        gate = f"gate-{uuid.uuid4().hex[:12]}"
        return {"HOLD": gate + "\n"}, gate


@contextlib.contextmanager
def running_two_gerrits(
    upstream_dir: Path,
    integrating_dir: Path,
    directory: Path,
    *,
    ci_yaml: str | None = None,
    extra_yaml: str = "",
    slots: int = 2,
) -> Iterator[TwoGerrits]:
    """Serve on both sandboxes (state directories of `crosscheck sandbox`), stopped after.

    `directory` holds the configuration, serve's state and the pushers' clones.
    """
    upstream = SandboxState.load(upstream_dir)
    integrating = SandboxState.load(integrating_dir)
    gates = directory / "gates"
    gates.mkdir(parents=True, exist_ok=True)
    config = write_two_gerrit_config(
        directory / "config",
        upstream,
        integrating,
        gates=gates,
        ci_yaml=ci_yaml,
        extra_yaml=extra_yaml,
        slots=slots,
    )
    serve = TwoGerritServe(config, directory / "state")
    serve.start()
    try:
        asyncio.run(serve.ready())
        yield TwoGerrits(
            serve,
            Gerrit(UPSTREAM, upstream, UPSTREAM_PROJECT, directory / "clones"),
            Gerrit(INTEGRATING, integrating, INTEGRATING_PROJECT, directory / "clones"),
            gates,
        )
    finally:
        serve.stop()
