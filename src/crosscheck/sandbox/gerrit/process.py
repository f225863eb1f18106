"""The Gerrit daemon as an operating-system process: start, identify, wait, stop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from crosscheck.sandbox import daemons
from crosscheck.sandbox.errors import SandboxError
from crosscheck.sandbox.gerrit.distribution import LAUNCHER_CLASS, GerritDistribution
from crosscheck.sandbox.gerrit.site import write_log_config
from crosscheck.sandbox.gerrit.state import SandboxState


def start_daemon(dist: GerritDistribution, java: str, state: SandboxState, heap: str) -> int:
    """Start Gerrit in its own session, detached from the terminal; return its pid."""
    state.log_file.parent.mkdir(parents=True, exist_ok=True)
    command = dist.java_command(
        java,
        heap,
        "daemon",
        "--headless",
        "--console-log",
        "-d",
        str(state.site_dir),
        jvm_options=write_log_config(state),
    )
    env = {**os.environ, "HOME": str(state.state_dir / "home")}
    with state.log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=state.state_dir,
            start_new_session=True,
        )
    return process.pid


def is_our_daemon(pid: int | None, state: SandboxState) -> bool:
    """True when `pid` is alive and is this sandbox's Gerrit, not a recycled pid."""
    return daemons.is_ours(pid, _markers(state))


def running_pid(state: SandboxState) -> int | None:
    """The pid of this sandbox's Gerrit when it is running, else None."""
    return state.pid if is_our_daemon(state.pid, state) else None


def stop_daemon(pid: int, state: SandboxState, timeout: float = 60.0) -> None:
    """Ask Gerrit to shut down cleanly; kill it if it has not within `timeout`."""
    if not daemons.stop(pid, _markers(state), timeout):
        raise SandboxError(
            f"Gerrit (pid {pid}) outlived SIGKILL; the end of {state.log_file}:\n"
            + log_tail(state.log_file)
        )


def _markers(state: SandboxState) -> tuple[str, str]:
    """What the command line of this sandbox's Gerrit, and no other process, holds."""
    return (LAUNCHER_CLASS, str(state.site_dir))


async def answers(http_url: str) -> bool:
    """True when Gerrit serves its version anonymously, the sign it is ready."""
    return await daemons.answers(f"{http_url.rstrip('/')}/config/server/version")


async def wait_ready(
    state: SandboxState, pid: int, timeout: float, tick: Callable[[float], None]
) -> float:
    """Wait until Gerrit answers; return the seconds it took. Fails fast if it dies."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < timeout:
        if await answers(state.http_url):
            return elapsed
        if not is_our_daemon(pid, state) or daemons.reaped(pid):
            raise SandboxError(
                f"Gerrit exited while starting; the end of {state.log_file}:\n"
                + log_tail(state.log_file)
            )
        tick(elapsed)
        await asyncio.sleep(0.25)
    raise SandboxError(
        f"Gerrit did not answer on {state.http_url} within {timeout:.0f}s "
        f"(it is still running as pid {pid}); the end of {state.log_file}:\n"
        + log_tail(state.log_file)
        + "\nTry a longer --timeout on a slow machine, or `crosscheck sandbox down` and up again."
    )


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:])
