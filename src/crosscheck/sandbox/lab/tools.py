"""Running the outside tools the lab drives (ip, ssh-keygen, sshd, useradd)."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

from crosscheck.sandbox.lab.errors import LabError

#: Seconds any one tool may take; they all finish in milliseconds when healthy.
TOOL_TIMEOUT = 30.0


def attempt(args: Sequence[str], timeout: float = TOOL_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run a tool whose failure the caller judges (deleting what may already be gone)."""
    try:
        return subprocess.run(
            list(args), capture_output=True, text=True, check=False, timeout=timeout
        )
    except FileNotFoundError as error:
        raise LabError(f"`{args[0]}` is not installed: {error}") from error
    except subprocess.TimeoutExpired as error:
        raise LabError(f"`{shlex.join(args)}` did not finish within {timeout:g} s") from error


def run_tool(args: Sequence[str], *, what: str, timeout: float = TOOL_TIMEOUT) -> str:
    """Run a tool that must succeed; its stdout, or a LabError saying what could not be done."""
    completed = attempt(args, timeout)
    if completed.returncode != 0:
        raise LabError(
            f"could not {what}: `{shlex.join(args)}` exited {completed.returncode}: "
            f"{(completed.stderr or completed.stdout).strip()}"
        )
    return completed.stdout
