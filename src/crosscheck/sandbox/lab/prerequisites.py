"""Whether this machine can make a lab at all, with every missing piece named at once."""

from __future__ import annotations

import os
import shutil

from crosscheck.sandbox.lab import sshd
from crosscheck.sandbox.lab.errors import LabError
from crosscheck.sandbox.lab.tools import attempt

#: Other tools the lab drives, and the Debian package of each.
TOOLS = {"ip": "iproute2", "ssh-keygen": "openssh-client", "useradd": "passwd"}


def require_lab() -> None:
    """Raise LabError (callers must fail, never skip) when this machine cannot make a lab:
    not root or no network namespaces, no sshd, no `ip`."""
    problems = _missing_tools()
    if os.geteuid() != 0:
        problems.insert(0, "needs root to make network namespaces: run as root or with sudo")
    elif shutil.which("ip") is not None:
        problems.extend(_namespace_problem())
    if problems:
        raise LabError("cannot make a lab of sshd hosts: " + "; ".join(problems))


def _missing_tools() -> list[str]:
    problems = []
    if sshd.find_sshd() is None:
        problems.append("sshd is not installed: apt-get install openssh-server")
    for command, package in TOOLS.items():
        if shutil.which(command) is None:
            problems.append(f"`{command}` is not installed: apt-get install {package}")
    return problems


def _namespace_problem() -> list[str]:
    # Root is not enough inside an unprivileged container: try the real thing.
    probe = f"cxlabprobe{os.getpid()}"
    created = attempt(["ip", "netns", "add", probe])
    attempt(["ip", "netns", "delete", probe])
    if created.returncode == 0:
        return []
    return [
        f"cannot create a network namespace ({created.stderr.strip()}): the lab needs "
        "CAP_SYS_ADMIN and CAP_NET_ADMIN (a VM, or a privileged container)"
    ]
