"""The local node provider: N builds at once on this machine, one work directory each.

Steps run as subprocesses of the service, in their own session, with an
environment built from scratch: never inside the service process, never with its
environment. They run as the service's user: inside bubblewrap when a confinement is
given (executor/confinement.py), else with that user's every right (docs/executor.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from crosscheck.executor.confinement import Confinement, prepare
from crosscheck.executor.leftovers import stop_leftovers
from crosscheck.executor.nodes import Command, LineSink, NodeError
from crosscheck.executor.processes import run_in_group
from crosscheck.model.build import BuildRequest, BuildResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderStatistics:
    slots: int
    #: The builds holding a slot now, in the order they took it.
    builds: tuple[str, ...] = ()

    @property
    def in_use(self) -> int:
        return len(self.builds)


class LocalNode:
    """One build's slot on this machine."""

    def __init__(
        self,
        name: str,
        work_dir: Path,
        bash: str,
        kill_grace: float,
        confinement: Confinement | None = None,
    ) -> None:
        self.name = name
        self.work_dir = work_dir
        self.run_dir = PurePosixPath(work_dir)
        self.keep_work_dir = False
        self.shares_host = True
        self.environment: Mapping[str, str] = {}
        self._bash = bash
        self._grace = kill_grace
        self._confinement = confinement

    async def push(self) -> None:
        """The steps run where the workspace was prepared: nothing to copy."""

    async def pull(self, relative: PurePosixPath) -> list[str]:
        """The steps wrote into `work_dir` itself: nothing to copy."""
        return []

    async def ended(self, request: BuildRequest, result: BuildResult) -> str | None:
        """Nothing to keep beyond `keep_work_dir`: the local node is this host."""
        return None

    async def run(self, command: Command, output: LineSink, timeout: float) -> int:
        argv = [self._bash, "-e", "-c", command.script]
        cwd = Path(command.cwd)
        if self._confinement is not None:
            for name in prepare(self.work_dir):
                output(f"--- {name}/ was not a directory (a link?): made anew for this step")
                log.warning("node %s: a step replaced %s/ of its work directory", self.name, name)
            argv = self._confinement.wrap(argv, self.work_dir, cwd)
        return await run_in_group(
            argv,
            dict(command.env),
            cwd,
            output,
            timeout=timeout,
            grace=self._grace,
            wrapped=self._confinement is not None,
        )


class LocalNodeProvider:
    """Hands out up to `slots` local nodes at once; the others wait."""

    def __init__(
        self,
        work_root: Path,
        slots: int,
        kill_grace: float = 10.0,
        name: str = "local",
        confinement: Confinement | None = None,
    ) -> None:
        if slots < 1:
            raise ValueError("a node provider needs at least one slot")
        bash = shutil.which("bash")
        if bash is None:
            raise NodeError("bash is not installed: sudo apt-get install bash")
        self.work_root = work_root
        self._slots = slots
        self._semaphore = asyncio.Semaphore(slots)
        self._bash = bash
        self._grace = kill_grace
        self._name = name
        self._builds: list[str] = []
        #: How the steps are confined; None: not at all.
        self.confinement = confinement

    def statistics(self) -> ProviderStatistics:
        return ProviderStatistics(self._slots, tuple(self._builds))

    @asynccontextmanager
    async def acquire(self, build_id: str, label: str | None = None) -> AsyncIterator[LocalNode]:
        """A node with a fresh work directory; removed on release unless kept. The
        slot is free while it is removed: each build has a directory of its own, and a
        big checkout takes a while to remove."""
        node: LocalNode | None = None
        try:
            async with self._semaphore:
                self._builds.append(build_id)
                try:
                    work_dir = self._new_work_dir(build_id)
                    name = f"{self._name}-{work_dir.name}"
                    node = LocalNode(name, work_dir, self._bash, self._grace, self.confinement)
                    yield node
                finally:
                    self._builds.remove(build_id)
        finally:
            if node is not None:
                await _release(node)

    async def recover(self, build_ids: Collection[str], *, keep_work_dirs: bool) -> None:
        """Stop the processes interrupted builds left running here, and remove their
        work directories unless kept."""
        stopped = await stop_leftovers(build_ids, self._grace)
        for group, build_id in sorted(stopped.items()):
            log.warning(
                "stopped process group %d, left running by interrupted build %s", group, build_id
            )
        if keep_work_dirs:
            return
        for build_id in build_ids:
            for path in self.work_root.glob(f"{build_id}-*"):
                await asyncio.to_thread(remove_tree, path)

    def _new_work_dir(self, build_id: str) -> Path:
        try:
            self.work_root.mkdir(parents=True, exist_ok=True, mode=0o700)
            return Path(tempfile.mkdtemp(prefix=f"{build_id}-", dir=self.work_root))
        except OSError as error:
            raise NodeError(
                f"cannot create a work directory in {self.work_root}: {error.strerror}"
            ) from error


async def _release(node: LocalNode) -> None:
    if node.keep_work_dir:
        log.info("keeping the work directory %s", node.work_dir)
    else:
        await asyncio.to_thread(remove_tree, node.work_dir)


class _WalkAgainError(Exception):
    """A directory made readable again: rmtree starts over (what is gone stays gone)."""


#: Attempts at a tree whose directories a build made unreadable, one level more each.
_REMOVE_ATTEMPTS = 64


def remove_tree(path: Path) -> None:
    """Remove a work directory, even one where a build made files read-only or
    directories unreadable (mode 000)."""

    def make_writable(function: Callable[..., Any], name: str, _: object) -> None:
        parent = os.path.dirname(name)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(name) and not os.path.islink(name):
            os.chmod(name, os.stat(name).st_mode | stat.S_IRWXU)
        if function not in (os.rmdir, os.remove, os.unlink):
            raise _WalkAgainError  # it failed to open or list `name`: it can now
        function(name)

    for _ in range(_REMOVE_ATTEMPTS):
        if not path.exists() and not path.is_symlink():
            return
        try:
            if sys.version_info >= (3, 12):
                shutil.rmtree(path, onexc=make_writable)
            else:
                shutil.rmtree(path, onerror=make_writable)
            return
        except _WalkAgainError:
            continue
        except OSError as error:
            log.warning("cannot remove the work directory %s: %s", path, error)
            return
    log.warning("cannot remove the work directory %s: its directories stay unreadable", path)
