"""Where builds run: the node and node provider interfaces.

NodeProvider
    `acquire(build_id, label)` is an async context manager giving one `Node` for one
    build, waiting for a free one; leaving it releases the node and removes the
    build's work directory unless `node.keep_work_dir` was set.

Node
    `work_dir` is a directory on this host where the executor prepares the build
    (workspace, home, artifacts); `run_dir` is the same directory as the steps see
    it. `push()` makes the prepared directory available where steps run and
    `pull(relative)` brings a directory the steps wrote back into `work_dir` and says
    what it left out (links leaving it, what passed the size limit): both do nothing
    on the local node, and copy on a remote one (`shares_host` says which).
    `environment` holds what the node adds to the build's environment, and `ended`
    is told the build's result before release (an autohold keeps the node then).
    `run(command, output, timeout)` runs one command in its own process group,
    passing each output line to `output`; it returns the exit status, raises
    `StepTimeoutError` after killing the whole group when `timeout` passes, and on
    cancellation kills the whole group before re-raising. It never leaves a process
    of the command running.

The step runner (steps.py) knows what to run; a node only knows where and how.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from crosscheck.model.build import BuildRequest, BuildResult

LineSink = Callable[[str], None]


class StepTimeoutError(Exception):
    """A command ran past its timeout; its process group was killed."""


class NodeError(Exception):
    """The node could not run the command at all (NODE_FAILURE)."""


@dataclass(frozen=True)
class Command:
    """A bash script to run with exactly this environment, in `cwd` on the node."""

    script: str
    env: Mapping[str, str]
    cwd: PurePosixPath


class Node(Protocol):
    name: str
    work_dir: Path
    run_dir: PurePosixPath
    keep_work_dir: bool
    #: Steps run on this host, in `work_dir` itself (nothing is copied): the
    #: workspace may then borrow the mirrors' objects instead of holding its own.
    shares_host: bool
    #: What the node adds to the build's environment (a POD's roles, its inventory).
    environment: Mapping[str, str]

    async def push(self) -> None: ...

    async def pull(self, relative: PurePosixPath) -> list[str]: ...

    async def run(self, command: Command, output: LineSink, timeout: float) -> int: ...

    async def ended(self, request: BuildRequest, result: BuildResult) -> str | None:
        """Told how the build ended before the node is released; a line for the console
        when the node does something about it (kept and held for debugging)."""


class NodeProvider(Protocol):
    def acquire(self, build_id: str, label: str | None) -> AbstractAsyncContextManager[Node]: ...

    async def recover(self, build_ids: Collection[str], *, keep_work_dirs: bool) -> None:
        """Stop what builds interrupted by a dead service left running on the nodes, and
        remove their work directories unless kept."""
