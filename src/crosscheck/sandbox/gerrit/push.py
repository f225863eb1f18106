"""Push changes for review to a sandbox project, as a developer would with git."""

from __future__ import annotations

import asyncio
import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.sandbox.errors import SandboxError
from crosscheck.sandbox.gerrit.state import SandboxState
from crosscheck.sandbox.prerequisites import GIT, require

CHANGE_ID_TRAILER = re.compile(r"^Change-Id: I[0-9a-f]{40}$", re.MULTILINE)


@dataclass(frozen=True)
class PushedChange:
    """A patchset Gerrit accepted, as its REST API reports it."""

    project: str
    branch: str
    number: int
    patchset: int
    revision: str
    change_id: str
    url: str

    @property
    def ref(self) -> str:
        return f"refs/changes/{self.number % 100:02d}/{self.number}/{self.patchset}"


class SandboxRepo:
    """A git working directory whose HEAD is pushed to a sandbox project for review.

    `open()` clones a scratch working directory when it does not exist yet;
    `open(clone=False)` takes the user's own clone as it is, and never creates one.
    """

    def __init__(self, state: SandboxState, project: str, workdir: Path) -> None:
        self.state = state
        self.project = project
        self.workdir = workdir
        self.remote_url = f"{state.http_url}a/{project}"
        self._git = require(GIT)

    @property
    def clone_url(self) -> str:
        """The anonymous URL a user clones the project from."""
        return f"{self.state.http_url}{self.project}"

    async def open(self, *, clone: bool = True) -> SandboxRepo:
        """Clone when allowed and needed; install Gerrit's commit-msg hook that adds Change-Ids."""
        if not clone:
            self.workdir = await self._work_tree()
        elif not (self.workdir / ".git").exists():
            if self.workdir.exists() and any(self.workdir.iterdir()):
                raise SandboxError(f"{self.workdir} exists and is not a git repository")
            self.workdir.parent.mkdir(parents=True, exist_ok=True)
            await self._run_in(None, "clone", "--quiet", self.remote_url, str(self.workdir))
            # Clones crosscheck makes commit as the sandbox developer; a user's repo keeps its own.
            await self._run("config", "user.name", "Sandbox Developer")
            await self._run("config", "user.email", self.state.admin.email)
        await self._install_hook()
        return self

    async def push_change(
        self,
        files: Mapping[str, str],
        subject: str,
        *,
        branch: str = "master",
        topic: str | None = None,
        wip: bool = False,
        amend: PushedChange | None = None,
    ) -> PushedChange:
        """Commit `files` on the branch tip (or as a new patchset of `amend`) and push it."""
        if amend is None:
            await self._run("fetch", "--quiet", self.remote_url, branch)
            await self._run("checkout", "--quiet", "-B", "crosscheck-work", "FETCH_HEAD")
        else:
            await self._run("fetch", "--quiet", self.remote_url, amend.ref)
            await self._run("checkout", "--quiet", "-B", "crosscheck-work", "FETCH_HEAD")
        for name, content in files.items():
            path = self.workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        await self._run("add", "--all")
        if amend is None:
            await self._run("commit", "--quiet", "--allow-empty", "-m", subject)
        else:
            await self._run("commit", "--quiet", "--amend", "--allow-empty", "--no-edit")
        return await self.push_head(branch=branch, topic=topic, wip=wip)

    async def push_head(
        self, *, branch: str = "master", topic: str | None = None, wip: bool = False
    ) -> PushedChange:
        """Push HEAD for review, adding a Change-Id to its message first if it has none.

        HEAD must build on the branch: that is checked before the commit is touched.
        """
        await self._require_on_branch(branch)
        message = await self._run("log", "-1", "--format=%B")
        if not CHANGE_ID_TRAILER.search(message):
            await self._run("commit", "--quiet", "--amend", "--no-edit")  # the hook adds it
        revision = (await self._run("rev-parse", "HEAD")).strip()
        # Push options rather than `refs/for/master%topic=...`: a topic may hold spaces.
        options = [*(["topic=" + topic] if topic else []), *(["wip"] if wip else [])]
        given = [part for option in options for part in ("-o", option)]
        await self._run("push", "--quiet", *given, self.remote_url, f"HEAD:refs/for/{branch}")
        return await self._lookup(revision, branch)

    async def _work_tree(self) -> Path:
        if not self.workdir.is_dir():
            raise SandboxError(
                f"{self.workdir} is not a directory: clone the project first "
                f"with `git clone {self.clone_url} {self.workdir}`"
            )
        try:
            top = await self._run_in(self.workdir, "rev-parse", "--show-toplevel")
        except SandboxError:
            raise SandboxError(
                f"{self.workdir} is not inside a git repository: clone the project first with "
                f"`git clone {self.clone_url}`, commit your change there, then push it"
            ) from None
        return Path(top.strip())

    async def _require_on_branch(self, branch: str) -> None:
        try:
            await self._run("fetch", "--quiet", self.remote_url, branch)
        except SandboxError:
            raise SandboxError(f"project {self.project} has no branch {branch!r}") from None
        try:
            await self._run("merge-base", "--is-ancestor", "FETCH_HEAD", "HEAD")
        except SandboxError:
            raise SandboxError(
                f"HEAD of {self.workdir} does not build on {self.project}'s {branch}: "
                f"commit your change in a clone of it (`git clone {self.clone_url}`)"
            ) from None

    async def _lookup(self, revision: str, branch: str) -> PushedChange:
        admin = self.state.admin
        async with GerritRestClient(
            self.state.http_url, admin.username, admin.http_password
        ) as client:
            found = await client.get(
                "/changes/",
                params={"q": f"commit:{revision} project:{self.project}", "o": "ALL_REVISIONS"},
            )
        if not found:
            raise SandboxError(f"Gerrit accepted the push of {revision} but no change has it")
        change = found[0]
        return PushedChange(
            project=self.project,
            branch=branch,
            number=change["_number"],
            patchset=change["revisions"][revision]["_number"],
            revision=revision,
            change_id=change["change_id"],
            url=f"{self.state.http_url}c/{self.project}/+/{change['_number']}",
        )

    async def _install_hook(self) -> None:
        hooks = Path((await self._run("rev-parse", "--git-path", "hooks")).strip())
        hook = hooks if hooks.is_absolute() else self.workdir / hooks
        hook = hook / "commit-msg"
        if hook.exists():
            return
        async with GerritRestClient(self.state.http_url) as anonymous:
            script = await anonymous.get("/tools/hooks/commit-msg")
        hook.parent.mkdir(parents=True, exist_ok=True)
        hook.write_text(str(script))
        hook.chmod(0o755)

    async def _run(self, *args: str) -> str:
        return await self._run_in(self.workdir, *args)

    async def _run_in(self, directory: Path | None, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            self._git,
            *args,
            cwd=directory,
            env=self._env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise SandboxError(
                f"`git {args[0]}` failed in {directory or os.getcwd()} "
                f"(exit {process.returncode}): {git_reason(err.decode(errors='replace'))}"
            )
        return out.decode()

    def _env(self) -> dict[str, str]:
        admin = self.state.admin
        token = base64.b64encode(f"{admin.username}:{admin.http_password}".encode()).decode()
        # Credentials travel in environment config: never in argv, a URL, or a log line.
        return {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": f"http.{self.state.http_url}.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
            "GIT_CONFIG_KEY_1": "credential.helper",
            "GIT_CONFIG_VALUE_1": "",
        }


# Progress lines Gerrit sends back on every push; they say nothing about a failure.
_NOISE = re.compile(r"^remote:\s*(Processing changes.*)?$")


def git_reason(stderr: str) -> str:
    """The lines of git's error output that say why it failed."""
    lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines()]
    reasons = [line for line in lines if line and not _NOISE.match(line)]
    return "; ".join(reasons) or "no reason given"
