"""The commit a branch or tag of a plain git URL names now, by `git ls-remote`.

Only git's own transport runs (no hook, no checkout); a URL that does not answer
within the timeout, or names no such ref, is said to be one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from crosscheck.drivers.base import DriverError, DriverNotFoundError

#: Seconds a remote has to answer.
TIMEOUT = 60.0


class GitRemote:
    """The `RefSource` of plain git URLs: `project` is the URL."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout

    async def commit_of(self, project: str, kind: str, ref: str) -> str:
        full = f"refs/heads/{ref}" if kind == "branch" else f"refs/tags/{ref}"
        # An annotated tag is listed twice: the tag object, and `^{}` its commit.
        lines = await self._ls_remote(project, full, f"{full}^{{}}")
        found: dict[str, str] = {}
        for line in lines:
            sha, _, name = line.partition("\t")
            found[name] = sha
        commit = found.get(f"{full}^{{}}") or found.get(full)
        if commit is None:
            raise DriverNotFoundError(f"{project} has no {kind} {ref!r}")
        return commit

    async def has_commit(self, project: str, sha: str) -> bool | None:
        """A remote lists refs, not commits: it cannot say (None)."""
        return None

    async def _ls_remote(self, url: str, *refs: str) -> list[str]:
        # Never prompt for credentials: a prompt would hang the caller until the timeout.
        env = os.environ | {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        process = await asyncio.create_subprocess_exec(
            "git", "ls-remote", "--", url, *refs,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            await _stopped(process)
            raise DriverError(
                f"git ls-remote {url}: no answer within {self.timeout:.0f}s"
            ) from None
        except BaseException:  # cancelled: never leave git running behind the caller
            await asyncio.shield(_stopped(process))
            raise
        if process.returncode != 0:
            reason = err.decode(errors="replace").strip().splitlines()
            raise DriverError(f"git ls-remote {url}: {reason[-1] if reason else 'failed'}")
        return out.decode().splitlines()


async def _stopped(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
