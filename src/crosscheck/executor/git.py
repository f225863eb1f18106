"""git as the executor runs it: a clean environment, credentials only in that environment.

git never sees the service's environment, the user's ~/.gitconfig or the system's
gitconfig, so a build behaves the same on every host. The Gerrit HTTP password
travels as an `http.<url>.extraHeader` in `GIT_CONFIG_*` variables of the one git
process that needs it: never in argv, a URL, a remote or a file in the workspace.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from crosscheck.errors import CrosscheckError
from crosscheck.model.config import DEFAULT_GIT_STALL_TIME

#: How long one git command may take before the build fails with ERROR.
GIT_TIMEOUT = 600.0
#: A transfer that moves fewer bytes a second than this for the stall time (the
#: executor's `git_stall_time`) is ended: see DEFAULT_GIT_STALL_TIME. One: a transfer
#: that stopped, never one that is merely slow.
STALL_BYTES_PER_SECOND = 1
#: Who the merge commit of a change onto its branch tip is by.
MERGER_NAME = "crosscheck"
MERGER_EMAIL = "crosscheck@localhost"


class GitError(CrosscheckError):
    """A git command failed; the message names the command and git's reason."""

    def __init__(self, message: str, returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr

    @property
    def server_away(self) -> bool:
        """Whether it failed because the server it fetched from could not be reached."""
        return bool(self.stderr) and server_away(self.stderr)


@dataclass(frozen=True)
class HttpCredentials:
    """Basic credentials for one URL prefix; repr never shows the password."""

    url: str
    username: str
    password: str

    def __repr__(self) -> str:
        return f"HttpCredentials(url={self.url!r}, username={self.username!r})"

    def config(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {f"http.{self.url}.extraHeader": f"Authorization: Basic {token}"}


def git_environment(
    extra_config: Mapping[str, str] | None = None, stall_time: int = DEFAULT_GIT_STALL_TIME
) -> dict[str, str]:
    """A from-scratch environment for git, with `extra_config` as GIT_CONFIG_* entries;
    an HTTP transfer that stalls for `stall_time` seconds is ended."""
    config = {
        "credential.helper": "",  # never ask a helper, never store what we send
        "http.lowSpeedLimit": str(STALL_BYTES_PER_SECOND),
        "http.lowSpeedTime": str(stall_time),
        # A build on a local node can write into the mirror its workspace borrows from:
        # no hook or file-system monitor it planted runs with crosscheck's credentials.
        "core.hooksPath": os.devnull,
        "core.fsmonitor": "false",
        # Nor may it send a fetch, and its Authorization header, elsewhere: through a
        # proxy, another address for the host, or a server whose certificate is not
        # checked; nor ask a program of its choice for a password.
        "http.proxy": "",
        "http.curloptResolve": "",
        "http.sslVerify": "true",
        "core.askPass": "",
        "protocol.file.allow": "always",  # workspaces are cloned from the local mirrors
        "user.name": MERGER_NAME,
        "user.email": MERGER_EMAIL,
        **(extra_config or {}),
    }
    env = {
        "PATH": os.defpath if not os.environ.get("PATH") else os.environ["PATH"],
        "HOME": "/nonexistent",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",  # no ref a build planted changes what a commit holds
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


class Git:
    """Runs git commands with the executor's clean environment."""

    def __init__(
        self, credentials: HttpCredentials | None = None, stall_time: int = DEFAULT_GIT_STALL_TIME
    ) -> None:
        found = shutil.which("git")
        if found is None:
            raise GitError("git is not installed: sudo apt-get install git")
        self._git = found
        self._credentials = credentials
        self._stall_time = stall_time

    async def run(
        self,
        *args: str,
        cwd: Path | None = None,
        authenticated: bool = False,
        timeout: float = GIT_TIMEOUT,
        stdin: str | None = None,
        config: Mapping[str, str] | None = None,
    ) -> str:
        """Run `git args...` (`stdin` its input, `config` on top of the environment's
        configuration) and return its stdout; GitError when it fails."""
        extra = {
            **(self._credentials.config() if authenticated and self._credentials else {}),
            **(config or {}),
        }
        env = git_environment(extra, self._stall_time)
        if cwd is not None:
            # The repository is `cwd` itself: git never looks above it for one (a mirror a
            # build broke would otherwise be read as a repository planted around it).
            env["GIT_CEILING_DIRECTORIES"] = str(Path(cwd).parent)
        process = await asyncio.create_subprocess_exec(
            self._git,
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(timeout):
                out, err = await process.communicate(None if stdin is None else stdin.encode())
        except BaseException as error:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            if isinstance(error, TimeoutError):
                raise GitError(
                    f"`git {subcommand(args)}` took longer than {timeout:.0f} s", None, ""
                ) from error
            raise
        if process.returncode != 0:
            stderr = err.decode(errors="replace")
            raise GitError(
                f"`git {subcommand(args)}` failed (exit {process.returncode}): "
                f"{short_reason(stderr)}",
                process.returncode,
                stderr,
            )
        return out.decode(errors="replace")


#: What git (through curl) says when the server cannot be reached, in a few words, and
#: whether that says the server is away for now (down, restarting, behind a proxy that
#: answers for it: it will be back), rather than that it refused this request.
_NETWORK_REASONS = (
    (
        re.compile(r"couldn't connect to server|connection refused", re.I),
        "connection refused",
        True,
    ),
    (re.compile(r"could not resolve host", re.I), "host not found", True),
    (
        re.compile(
            r"operation too slow\. less than (\d+) bytes/sec transferred the last (\d+)", re.I
        ),
        "the server stalled (nothing for {1} s)",
        True,
    ),
    (re.compile(r"timed out", re.I), "connection timed out", True),
    (re.compile(r"connection reset|recv failure", re.I), "connection reset", True),
    (re.compile(r"empty reply from server", re.I), "empty reply from the server", True),
    (re.compile(r"returned error: (50[0234])", re.I), "HTTP {0}", True),
    # Gerrit hides a project from an account that may not read it: both answer 403.
    (
        re.compile(r"returned error: 403", re.I),
        "HTTP 403: no such project, or the CI account may not read it",
        False,
    ),
    (re.compile(r"returned error: (\d{3})", re.I), "HTTP {0}", False),
    (re.compile(r"authentication failed", re.I), "authentication failed", False),
    (
        re.compile(r"repository '[^']*' not found|does not appear to be a git repository", re.I),
        "repository not found",
        False,
    ),
)


def server_away(stderr: str) -> bool:
    """Whether git failed because the server could not be reached (or stalled)."""
    found = _network_reason(stderr)
    return found is not None and found[1]


def _network_reason(stderr: str) -> tuple[str, bool] | None:
    """The network failure `stderr` tells of, and whether the server is away; or None."""
    for pattern, reason, away in _NETWORK_REASONS:
        found = pattern.search(stderr)
        if found:
            return reason.format(*found.groups()), away
    return None


def short_reason(stderr: str) -> str:
    """Why a git command failed, in a few words: the network failure when it is one,
    else git's last useful lines."""
    network = _network_reason(stderr)
    if network is not None:
        return network[0]
    lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    # git's own verdicts first: advice after them ("Another git process seems to be
    # running...") would otherwise crowd out the cause.
    said = [line for line in lines if line.startswith(("fatal:", "error:"))]
    useful = said or [line for line in lines if not line.startswith(("hint:", "remote: Counting"))]
    return "; ".join(useful[-3:]) or "no reason given"


def subcommand(args: Sequence[str]) -> str:
    """The git command `args` run (`gc` of `-c gc.auto=0 gc --auto`), for messages."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in ("-c", "-C") and rest:
            rest.pop(0)
    return rest[0] if rest else "git"


def secret_free(url: str) -> str:
    """The URL without a user or password, fit for a report or a log."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
