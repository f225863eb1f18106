"""One SSH node's connection, opened when first needed and shared by its builds and
health checks; and the commands crosscheck itself runs there.

A connection that dropped is opened again on the next use. Whatever goes wrong on the
way (unreachable, login refused, a changed host key, the connection lost) is a
`NodeError` whose message says what happened: the build that met it ends
NODE_FAILURE, never FAILURE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from pathlib import PurePosixPath

import asyncssh

from crosscheck.executor.nodes import NodeError
from crosscheck.executor.ssh import scripts
from crosscheck.executor.ssh.connection import connect, describe
from crosscheck.model.node import DEFAULT_WORK_DIR, SshNode

log = logging.getLogger(__name__)

#: Errors that mean the connection or the node went away.
LOST = (OSError, asyncssh.Error, EOFError)


class NodeLostError(NodeError):
    """The connection to the node was lost while it worked for crosscheck."""


class RemoteHost:
    def __init__(self, node: SshNode) -> None:
        self.node = node
        self._connection: asyncssh.SSHClientConnection | None = None
        self._opening = asyncio.Lock()
        self._work_root: PurePosixPath | None = node.work_root

    async def connection(self) -> asyncssh.SSHClientConnection:
        async with self._opening:
            if self._connection is None or self._connection.is_closed():
                self._connection = await connect(self.node)
            return self._connection

    def drop(self) -> None:
        """Forget the connection (lost, or the node is being taken out): the next use opens
        a new one."""
        if self._connection is not None:
            self._connection.abort()
            self._connection = None

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            await self._connection.wait_closed()
            self._connection = None

    async def execute(
        self, script: str, timeout: float | None = None, *, what: str | None = None
    ) -> str:
        """Run one of crosscheck's own commands (`what` it does, for messages); its
        output, or NodeError with the reason."""
        what = what or f"`{script[:40]}`"
        connection = await self.connection()
        limit = timeout or float(self.node.connect_timeout)
        try:
            async with asyncio.timeout(limit):
                result = await connection.run(
                    script, check=False, stderr=asyncssh.STDOUT, errors="replace"
                )
        except TimeoutError as error:
            self.drop()
            raise NodeLostError(f"no answer from {self.node.address} in {limit:.0f} s") from error
        except LOST as error:
            self.drop()
            raise NodeLostError(f"lost {self.node.address}: {describe(error)}") from error
        output = str(result.stdout or "")
        if result.exit_status is None:  # the channel closed under the command: sshd went
            self.drop()
            raise NodeLostError(f"lost {self.node.address} during {what}")
        if result.exit_status != 0:
            raise NodeError(
                f"{what} exited {result.exit_status}: "
                + " / ".join(output.strip().splitlines()[-3:])[-300:]
            )
        return output

    async def check(self) -> None:
        """Connect (again if need be) and run a command: the node can take a build."""
        await self.execute("true")

    async def check_afresh(self) -> None:
        """The periodic check: a new connection, as a build after a reconnect would make.
        A host key changed or a login revoked shows even while the shared connection,
        made before, still works."""
        connection = await connect(self.node)
        try:
            async with asyncio.timeout(self.node.connect_timeout):
                result = await connection.run("true", check=False)
        except (TimeoutError, *LOST) as error:
            raise NodeLostError(f"lost {self.node.address}: {describe(error)}") from error
        finally:
            connection.abort()
        if result.exit_status != 0:
            raise NodeError(f"{self.node.name}: `true` exited {result.exit_status}")

    async def work_root(self) -> PurePosixPath:
        if self._work_root is None:
            home = (await self.execute('printf %s "$HOME"')).strip()
            if not home.startswith("/"):
                raise NodeError(f"{self.node.name}: the login has no home directory: set work_root")
            self._work_root = PurePosixPath(home) / DEFAULT_WORK_DIR
        return self._work_root

    async def reap(self, build_ids: Collection[str], grace: float) -> int:
        """Stop what these builds left running on the node; how many processes."""
        script = scripts.reap(build_ids, grace)
        output = await self.execute(script, timeout=grace + 60, what="stopping the leftovers")
        try:
            return int(output.strip().splitlines()[0])
        except (IndexError, ValueError):
            return 0

    async def clean(
        self, build_ids: Collection[str], directories: Collection[PurePosixPath], grace: float
    ) -> int:
        """`reap` the builds, then remove their directories; how many processes stopped."""
        script = scripts.clean(build_ids, directories, grace)
        output = await self.execute(script, timeout=grace + 600, what="the clean-up")
        try:
            return int(output.strip().splitlines()[0])
        except (IndexError, ValueError):
            return 0

    async def remove(self, directory: PurePosixPath) -> None:
        await self.execute(scripts.remove(directory), timeout=600, what=f"removing {directory}")
