"""The unprivileged account builds log in as, so that they never run as root."""

from __future__ import annotations

import pwd
from pathlib import Path

from crosscheck.sandbox.lab.errors import LabError
from crosscheck.sandbox.lab.tools import attempt, run_tool

SHADOW = Path("/etc/shadow")


def ensure_user(name: str) -> pwd.struct_passwd:
    """The account `name`, created (with a home and bash) the first time it is needed."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        account = _create(name)
    if _locked(name):
        # useradd leaves the password "!" (locked); without PAM sshd refuses locked
        # accounts even for keys. "*" means "no password" without locking the account.
        run_tool(["usermod", "-p", "*", name], what=f"unlock the account {name} for ssh keys")
    return account


def _create(name: str) -> pwd.struct_passwd:
    completed = attempt(["useradd", "--system", "--create-home", "--shell", "/bin/bash", name])
    try:
        # Another lab starting at the same moment may have created it first.
        return pwd.getpwnam(name)
    except KeyError:
        raise LabError(
            f"could not create the lab's login user {name}: useradd exited "
            f"{completed.returncode}: {completed.stderr.strip()} (create it yourself with "
            f"`useradd --system --create-home --shell /bin/bash {name}`)"
        ) from None


def _locked(name: str) -> bool:
    for line in SHADOW.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return len(fields) > 1 and fields[1].startswith("!")
    return False
