"""A build's node over SSH: the prepared workspace sent in, steps run in their own
process group under the job's timeout with the console streamed back line by line,
artifacts brought back.

The workspace is prepared on this host from crosscheck's mirrors (credentials never
reach the node) and sent as one tar stream. A step's wrapper prints its process group
first, so a timeout or a cancel stops the whole group on the node, and then every
process still carrying the build's marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tarfile
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import IO

import asyncssh

from crosscheck.executor.nodes import Command, LineSink, NodeError, StepTimeoutError
from crosscheck.executor.processes import pump_lines
from crosscheck.executor.records import MAX_ARTIFACT_BYTES
from crosscheck.executor.ssh import scripts
from crosscheck.executor.ssh.connection import describe
from crosscheck.executor.ssh.host import LOST, NodeLostError, RemoteHost
from crosscheck.model.build import BuildRequest, BuildResult

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
#: Artifacts copied back per build at most: the rest stays on the node.
#: Members left out that the console names one by one; the others are counted.
NOTES_SHOWN = 20
#: GNU tar's exit statuses for a complete archive: 1 is "a file changed as it was read".
TAR_OK = (0, 1)
EndedHook = Callable[[BuildRequest, BuildResult], Awaitable[str | None]]


class SshBuildNode:
    """One build on one SSH node (a POD's build runs on the node of its `run_on` role)."""

    def __init__(
        self,
        name: str,
        host: RemoteHost,
        work_dir: Path,
        run_dir: PurePosixPath,
        *,
        environment: Mapping[str, str],
        kill_grace: float,
        on_ended: EndedHook,
    ) -> None:
        self.name = name
        self.host = host
        self.work_dir = work_dir
        self.run_dir = run_dir
        self.keep_work_dir = False
        self.shares_host = False
        self.environment = environment
        self._grace = kill_grace
        self._on_ended = on_ended
        #: Set once the connection was lost mid-build: the node needs a clean-up.
        self.lost = False

    async def push(self) -> None:
        connection = await self._connection()
        try:
            remote = await connection.create_process(
                scripts.unpack(self.run_dir), encoding=None, stderr=asyncssh.STDOUT
            )
            # The clones share their objects with the mirrors by hard links, so another
            # build's clone changes their ctime as they are read: no news to the node.
            tar = await asyncio.create_subprocess_exec(
                "tar", "--warning=no-file-changed", "-C", str(self.work_dir), "-cf", "-", ".",
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            while tar.stdout is not None and (chunk := await tar.stdout.read(CHUNK)):
                remote.stdin.write(chunk)
                await remote.stdin.drain()
            remote.stdin.write_eof()
            output = await remote.stdout.read()
            await tar.wait()
            result = await remote.wait()
        except LOST as error:
            raise self._lost("sending the workspace", error) from error
        if result.exit_status != 0 or tar.returncode not in TAR_OK:
            text = bytes(output or b"").decode(errors="replace").strip()[-300:]
            raise NodeError(
                f"{self.name}: the workspace could not be sent (tar here exited "
                f"{tar.returncode}, there {result.exit_status}): {text or 'no message'}"
            )

    async def pull(self, relative: PurePosixPath) -> list[str]:
        if self.lost:
            return []  # the artifacts went with the node; its NodeError says so already
        connection = await self._connection()
        target = self.work_dir.joinpath(*relative.parts).parent
        notes: list[str] = []
        with tempfile.TemporaryFile() as spool:
            try:
                remote = await connection.create_process(
                    scripts.pack(self.run_dir, relative), encoding=None
                )
                while chunk := await remote.stdout.read(CHUNK):
                    if spool.tell() + len(chunk) > MAX_ARTIFACT_BYTES:
                        remote.close()  # the rest stays on the node: a build fills no disk here
                        notes.append(
                            f"more than {MAX_ARTIFACT_BYTES >> 20} MiB: the rest is left out"
                        )
                        break
                    spool.write(chunk)
                await remote.wait()
            except LOST as error:
                raise self._lost(f"copying {relative} back", error) from error
            if spool.tell():
                spool.seek(0)
                notes += await asyncio.to_thread(_extract, spool, target)
        return notes

    async def run(self, command: Command, output: LineSink, timeout: float) -> int:
        connection = await self._connection()
        script = scripts.step(command.script, command.env, command.cwd)
        group: list[int] = []  # filled as soon as the wrapper says it: a timeout needs it
        try:
            # Bytes: a build's output is whatever it prints, valid UTF-8 or not.
            process = await connection.create_process(script, encoding=None, stderr=asyncssh.STDOUT)
        except LOST as error:
            raise self._lost("starting a step", error) from error
        try:
            async with asyncio.timeout(timeout):
                await self._stream(process, output, group)
                result = await process.wait()
        except TimeoutError as error:
            await self._stop(group, command)
            raise StepTimeoutError(f"timed out after {timeout:.0f} s") from error
        except asyncio.CancelledError:
            await asyncio.shield(self._stop(group, command))
            raise
        except LOST as error:
            raise self._lost("running a step", error) from error
        if result.exit_status is None:
            raise self._lost("running a step", EOFError("the step's channel closed"))
        return result.exit_status

    async def ended(self, request: BuildRequest, result: BuildResult) -> str | None:
        """An autohold that claims the build keeps its work directory on the node."""
        note = await self._on_ended(request, result)
        if note is not None:
            self.keep_work_dir = True
        return note

    async def _stream(
        self, process: asyncssh.SSHClientProcess[bytes], output: LineSink, group: list[int]
    ) -> None:
        """Lines as the local node cuts them (bad bytes replaced, overlong lines split);
        the wrapper's first line, the step's process group, goes to `group`."""

        def line(text: str) -> None:
            if not group and text.startswith(scripts.PGID_MARK):
                with contextlib.suppress(ValueError):
                    group.append(int(text.removeprefix(scripts.PGID_MARK)))
                    return
            output(text)

        await pump_lines(process.stdout, line)

    async def _stop(self, group: list[int], command: Command) -> None:
        """The step's group, then anything of the build that left it."""
        try:
            for pgid in group:
                await self.host.execute(scripts.stop_group(pgid, self._grace), self._grace + 30)
            build_id = command.env.get("CROSSCHECK_BUILD_ID")
            if build_id:
                await self.host.reap([build_id], self._grace)
        except NodeError as error:
            self.lost = True
            log.warning("%s: could not stop the step's processes: %s", self.name, error)

    async def _connection(self) -> asyncssh.SSHClientConnection:
        try:
            return await self.host.connection()
        except NodeError:
            self.lost = True
            raise

    def _lost(self, doing: str, error: BaseException) -> NodeLostError:
        self.lost = True
        self.host.drop()
        return NodeLostError(f"lost node {self.name} while {doing}: {describe(error)}")


def _extract(spool: IO[bytes], target: Path) -> list[str]:
    """The node's tar, member by member: one leaving `target` (an absolute link, `..`,
    a device) is left out and named, the others are kept. The build wrote them: they
    are untrusted."""
    target.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    try:
        with tarfile.open(fileobj=spool, mode="r:") as archive:
            for member in archive:
                try:
                    archive.extract(member, target, filter="data")
                except tarfile.FilterError as error:  # names the member itself
                    notes.append(f"{error}: left out")
                except OSError as error:
                    notes.append(f"{member.name}: {error.strerror or error}: left out")
    except tarfile.TarError as error:  # cut short at the size limit
        notes.append(f"the copy stopped: {error}")
    if len(notes) > NOTES_SHOWN:
        notes[NOTES_SHOWN:] = [f"and {len(notes) - NOTES_SHOWN} more left out"]
    return notes
