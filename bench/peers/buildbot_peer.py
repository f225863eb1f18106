"""A Buildbot master and its one worker, made with Buildbot's own commands and run as
foreground subprocesses the bench owns, against the sandbox Gerrit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

from bench.peers.gerrit_setup import PeerAccount
from bench.peers.master_cfg import MASTER_CFG
from bench.peers.venv import PeerVenv
from crosscheck.drivers.gerrit.rest import project_id
from crosscheck.sandbox.gerrit.provision import admin_client
from crosscheck.sandbox.gerrit.site import free_port
from crosscheck.sandbox.gerrit.state import SandboxState
from crosscheck.sandbox.prerequisites import Tool, require

WORKER = "worker"
OPENSSH = Tool("ssh", "Buildbot's Gerrit change source and reporter", "openssh-client")
#: Buildbot calls plain `ssh` and takes no SSH options: this `ssh` first on its PATH adds
#: the sandbox's known hosts, so the host key is checked rather than trusted blindly.
SSH_WRAPPER = """\
#!/bin/sh
exec {ssh} -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes \
-o IdentitiesOnly=yes "$@"
"""


class BuildbotPeer:
    """`buildbot create-master` and `buildbot-worker create-worker` in `root`, started with
    `--nodaemon` so that the bench holds both processes."""

    def __init__(
        self,
        venv: PeerVenv,
        root: Path,
        state: SandboxState,
        *,
        account: PeerAccount,
        project: str,
        max_builds: int,
    ) -> None:
        self.venv = venv
        self.state = state
        self.account = account
        self.project = project
        self.max_builds = max_builds
        self.master_dir = root / "master"
        self.worker_dir = root / "worker"
        self.bin_dir = root / "bin"
        self.processes: list[subprocess.Popen[bytes]] = []

    def create(self) -> None:
        pb_port = free_port()
        password = secrets.token_urlsafe(16)
        self._write_ssh_wrapper()
        self._run("buildbot", "create-master", "--quiet", str(self.master_dir))
        (self.master_dir / "master.cfg").write_text(
            MASTER_CFG.substitute(
                pb_port=pb_port,
                worker_name=WORKER,
                worker_password=password,
                max_builds=self.max_builds,
                ssh_port=self.state.ssh_port,
                username=self.account.username,
                identity_file=self.account.ssh_key,
                project=self.project,
            )
        )
        self._run(
            "buildbot-worker",
            "create-worker",
            "--quiet",
            str(self.worker_dir),
            f"127.0.0.1:{pb_port}",
            WORKER,
            password,
        )

    def start(self) -> None:
        daemons = (("buildbot", self.master_dir), ("buildbot-worker", self.worker_dir))
        for tool, directory in daemons:
            with (directory.parent / f"{directory.name}.out").open("ab") as out:
                self.processes.append(
                    subprocess.Popen(
                        [str(self.venv.bin(tool)), "start", "--nodaemon", str(directory)],
                        stdout=out,
                        stderr=out,
                        env=self._env(),
                    )
                )

    async def ready(self, timeout: float = 120) -> None:
        """The worker attached and the change source hearing Gerrit's stream. Nothing says
        when `gerrit stream-events` is registered: a probe branch made on the peer's project
        until the master records its ref-updated as a change proves it."""
        deadline = time.monotonic() + timeout
        while not self._query("SELECT 1 FROM connected_workers"):
            await self._tick(deadline, "the worker never attached")
        async with await admin_client(self.state) as admin:
            while not self._query("SELECT 1 FROM changes WHERE project = ?", self.project):
                branch = f"peer-probe-{uuid.uuid4().hex[:12]}"
                await admin.put(f"/projects/{project_id(self.project)}/branches/{branch}", {})
                await self._tick(deadline, "the change source never heard Gerrit", pause=1.0)

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)

    def log_tail(self, lines: int = 30) -> str:
        log = self.master_dir / "twistd.log"
        text = log.read_text(errors="replace") if log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def _tick(self, deadline: float, failure: str, pause: float = 0.2) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited:\n{self.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{failure}:\n{self.log_tail()}")
        await asyncio.sleep(pause)

    def _query(self, sql: str, *args: object) -> list[object]:
        database = self.master_dir / "state.sqlite"
        with (
            contextlib.suppress(sqlite3.OperationalError),  # not created or migrated yet
            contextlib.closing(sqlite3.connect(database, timeout=10)) as db,
        ):
            return list(db.execute(sql, args).fetchall())
        return []

    def _write_ssh_wrapper(self) -> None:
        ssh = require(OPENSSH)
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        wrapper = self.bin_dir / "ssh"
        wrapper.write_text(SSH_WRAPPER.format(ssh=ssh, known_hosts=self.state.known_hosts))
        wrapper.chmod(0o755)

    def _env(self) -> dict[str, str]:
        path = os.pathsep.join([str(self.bin_dir), str(self.venv.path / "bin"), os.environ["PATH"]])
        # The project's own virtualenv stays out of Buildbot's way.
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        return {**env, "PATH": path}

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.venv.bin(tool)), *args]
        done = subprocess.run(command, capture_output=True, text=True, env=self._env(), check=False)
        if done.returncode != 0:
            raise AssertionError(f"{tool} {args[0]} exited {done.returncode}:\n{done.stderr}")
