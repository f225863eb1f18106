"""The sandbox as a whole: `up`, `down`, `status`, `info`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from crosscheck.paths import cache_dir, default_sandbox_dir, write_private
from crosscheck.sandbox.errors import SandboxError
from crosscheck.sandbox.gerrit import process, provision, site
from crosscheck.sandbox.gerrit.distribution import (
    GERRIT_VERSION,
    GerritDistribution,
    ensure_distribution,
)
from crosscheck.sandbox.gerrit.state import (
    ADMIN_EMAIL,
    ADMIN_USER,
    CI_EMAIL,
    CI_USER,
    DEFAULT_PROJECT,
    HOST,
    Account,
    SandboxState,
    check_project_name,
)
from crosscheck.sandbox.prerequisites import require_java

Report = Callable[[str], None]


class SandboxStatus(StrEnum):
    ABSENT = "absent"  # no sandbox (or one whose site was never initialized)
    STOPPED = "stopped"
    STARTING = "starting"  # the process lives but Gerrit does not answer yet
    INCOMPLETE = "incomplete"  # Gerrit answers, but accounts and projects are not set up
    RUNNING = "running"


@dataclass(frozen=True)
class UpResult:
    state: SandboxState
    started: bool  # False when it was already running
    seconds: float  # the whole `up`, downloads included


class Sandbox:
    """One sandbox Gerrit, identified by its state directory."""

    def __init__(self, state_dir: Path | None = None, cache: Path | None = None) -> None:
        self.state_dir = (state_dir or default_sandbox_dir()).resolve()
        self.cache = cache or cache_dir()

    def load(self) -> SandboxState:
        return SandboxState.load(self.state_dir)

    async def status(self) -> SandboxStatus:
        if not SandboxState.exists(self.state_dir):
            return SandboxStatus.ABSENT
        state = self.load()
        if not site.is_initialized(state):
            return SandboxStatus.ABSENT
        if process.running_pid(state) is None:
            return SandboxStatus.STOPPED
        if not await process.answers(state.http_url):
            return SandboxStatus.STARTING
        return SandboxStatus.RUNNING if state.provisioned else SandboxStatus.INCOMPLETE

    async def up(
        self,
        *,
        http_port: int | None = None,
        ssh_port: int | None = None,
        projects: Sequence[str] = (),
        heap: str = "768m",
        timeout: float = 300.0,
        report: Report = lambda _: None,
        tick: Callable[[float], None] = lambda _: None,
    ) -> UpResult:
        """Create or reuse the sandbox, start Gerrit if needed and provision it."""
        began = time.monotonic()
        for project in projects:
            check_project_name(project)
        dist = ensure_distribution(self.cache, report)
        java = require_java()
        state = self._state_for_up(http_port, ssh_port, projects)
        pid = process.running_pid(state)
        started = pid is None
        if pid is None:
            self._prepare_site(dist, java, state, report)
            report(f"starting Gerrit {dist.version} on {state.http_url}")
            pid = state.pid = process.start_daemon(dist, java, state, heap)
            state.provisioned = False
            state.save()
        await process.wait_ready(state, pid, timeout, tick)
        report("provisioning accounts, projects and the Verified label")
        await provision.provision(state)
        state.provisioned = True
        state.save()
        state.connection_file.write_text(connection_config(state))
        return UpResult(state, started, time.monotonic() - began)

    def down(self, timeout: float = 60.0) -> bool:
        """Stop Gerrit; return whether it was running."""
        if not SandboxState.exists(self.state_dir):
            return False
        state = self.load()
        pid = process.running_pid(state)
        if pid is not None:
            process.stop_daemon(pid, state, timeout)
        state.pid = None
        state.save()
        return pid is not None

    def _state_for_up(
        self, http_port: int | None, ssh_port: int | None, projects: Sequence[str]
    ) -> SandboxState:
        """The state to start from; nothing is saved until the requested ports are free."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)  # it holds passwords and private keys
        if SandboxState.exists(self.state_dir):
            state = self.load()
            if process.running_pid(state) is not None:
                _refuse_port_change(state, http_port, ssh_port)
            else:
                state.http_port = http_port or state.http_port
                state.ssh_port = ssh_port or state.ssh_port
                _require_free_ports(state)
        else:
            keys = self.state_dir / "keys"
            state = SandboxState(
                state_dir=self.state_dir,
                gerrit_version=GERRIT_VERSION,
                http_port=http_port or site.free_port(),
                ssh_port=ssh_port or site.free_port(),
                admin=Account(
                    username=ADMIN_USER, email=ADMIN_EMAIL, ssh_key=keys / "admin_ed25519"
                ),
                ci=Account(username=CI_USER, email=CI_EMAIL, ssh_key=keys / "ci_ed25519"),
            )
            _require_free_ports(state)
        state.projects = list(dict.fromkeys([*state.projects, *projects]))
        state.save()
        return state

    def _prepare_site(
        self, dist: GerritDistribution, java: str, state: SandboxState, report: Report
    ) -> None:
        if not site.is_initialized(state):
            report(f"initializing a Gerrit site in {state.site_dir}")
            site.init_site(dist, java, state)
        site.configure_site(state)
        site.install_checks_plugin(state)
        site.write_known_hosts(state)
        site.ensure_key(state.admin.ssh_key)
        site.ensure_key(state.ci.ssh_key)
        write_private(state.ci_password_file, state.ci.http_password)


def _require_free_ports(state: SandboxState) -> None:
    for option, port in (("--http-port", state.http_port), ("--ssh-port", state.ssh_port)):
        if site.port_in_use(port):
            raise SandboxError(
                f"port {port} on {HOST} is taken by another program: choose a free one with "
                f"{option} (this sandbox remembers its ports once it has started)"
            )


def _refuse_port_change(state: SandboxState, http_port: int | None, ssh_port: int | None) -> None:
    requested = (http_port or state.http_port, ssh_port or state.ssh_port)
    if requested != (state.http_port, state.ssh_port):
        raise SandboxError(
            f"the sandbox is running on HTTP {state.http_port} and SSH {state.ssh_port}: "
            f"run `{state.command('down')}` first to change its ports"
        )


def info(state: SandboxState, status: SandboxStatus) -> dict[str, Any]:
    """Endpoints and credentials, for scripts (`crosscheck sandbox info --json`)."""

    def account(acct: Account) -> dict[str, str]:
        public = acct.ssh_key.with_suffix(".pub")
        return {
            "username": acct.username,
            "email": acct.email,
            "http_password": acct.http_password,
            "ssh_key": str(acct.ssh_key),
            "ssh_public_key": public.read_text().strip() if public.exists() else "",
        }

    return {
        "status": status.value,
        "running": status is SandboxStatus.RUNNING,
        "gerrit_version": state.gerrit_version,
        "http_url": state.http_url,
        "ssh_host": HOST,
        "ssh_port": state.ssh_port,
        "known_hosts": str(state.known_hosts),
        "projects": state.projects,
        "default_project": state.projects[0] if state.projects else DEFAULT_PROJECT,
        "admin": account(state.admin),
        "ci_account": {**account(state.ci), "http_password_file": str(state.ci_password_file)},
        "connection_file": str(state.connection_file),
        "state_dir": str(state.state_dir),
        "site_dir": str(state.site_dir),
        "log_file": str(state.log_file),
        "pid": state.pid,
    }


def ssh_command(state: SandboxState) -> str:
    return (
        f"ssh -p {state.ssh_port} -i {state.ci.ssh_key} "
        f"-o UserKnownHostsFile={state.known_hosts} {state.ci.username}@{HOST}"
    )


def connection_config(state: SandboxState, name: str = "sandbox") -> str:
    """A crosscheck connection for this sandbox, as YAML; secrets stay in their files."""
    return (
        f"# The sandbox Gerrit in {state.state_dir}, written by `crosscheck sandbox up`.\n"
        "- connection:\n"
        f"    name: {name}\n"
        "    driver: gerrit\n"
        f"    host: {HOST}\n"
        f"    http_url: {state.http_url}\n"
        f"    ssh_port: {state.ssh_port}\n"
        f"    user: {state.ci.username}\n"
        f"    ssh_key: {state.ci.ssh_key}\n"
        f"    known_hosts: {state.known_hosts}\n"
        f"    http_password_file: {state.ci_password_file}\n"
    )
