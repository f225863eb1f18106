"""The step runner: a job's steps, in order, on a node, within the job's timeout."""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from crosscheck.executor.console import ConsoleLog
from crosscheck.executor.nodes import Command, Node, StepTimeoutError
from crosscheck.model.build import BuildResult, format_duration
from crosscheck.model.job import RunStep


@dataclass(frozen=True)
class StepRecord:
    number: int
    command: str
    exit_status: int | None
    duration: float


@dataclass(frozen=True)
class StepsOutcome:
    result: BuildResult
    detail: str | None
    steps: tuple[StepRecord, ...]


#: A command longer than this is cut in a report's reason: the console log has it whole.
MAX_COMMAND = 60


def describe(step: RunStep) -> str:
    return step.shell if step.shell is not None else f"script {step.script}"


def step_name(number: int, text: str) -> str:
    """`step 2 'make test'`: how a reason names a step, its command on one short line."""
    flat = " ".join(text.split())
    if len(flat) > MAX_COMMAND:
        flat = flat[: MAX_COMMAND - 3].rstrip() + "..."
    return f"step {number} '{flat}'"


def script_for(step: RunStep) -> str:
    """The bash text of a step: a shell line as written, or a workspace script.

    A script with the executable bit runs as itself (its shebang chooses the
    interpreter); one without runs under `bash -e`.
    """
    if step.shell is not None:
        return step.shell
    path = PurePosixPath(step.script or "")
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"script {step.script!r} must be a path inside the workspace")
    quoted = shlex.quote(f"./{path}")
    return f"if [ -x {quoted} ]; then exec {quoted}; else exec bash -e {quoted}; fi"


async def run_steps(
    node: Node,
    steps: Sequence[RunStep],
    *,
    env: Mapping[str, str],
    cwd: PurePosixPath,
    console: ConsoleLog,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    guard: asyncio.Future[str] | None = None,
) -> StepsOutcome:
    """Run the steps until one fails or the time is up; every step shares `timeout`.
    `guard`, once done, stops the step running (with its grace) and fails the build
    with what it says (a build over its disk limit)."""
    deadline = clock() + timeout
    records: list[StepRecord] = []
    for number, step in enumerate(steps, 1):
        text = describe(step)
        console.line(f"--- step {number}/{len(steps)}: {text}")
        try:
            command = Command(script_for(step), env, cwd)
        except ValueError as error:
            console.line(f"--- {error}")
            return StepsOutcome(
                BuildResult.FAILURE, f"{step_name(number, text)}: {error}", tuple(records)
            )
        began = clock()
        try:
            status = await _guarded(
                node.run(command, console.line, max(0.0, deadline - clock())), guard
            )
        except StepTimeoutError:
            records.append(StepRecord(number, text, None, clock() - began))
            detail = (
                f"{step_name(number, text)} ran past the job's timeout of "
                f"{format_duration(timeout)}"
            )
            console.line(f"--- {detail}: every process of the build was killed")
            return StepsOutcome(BuildResult.TIMED_OUT, detail, tuple(records))
        if isinstance(status, str):
            records.append(StepRecord(number, text, None, clock() - began))
            console.line(f"--- {status}: every process of the build was stopped")
            return StepsOutcome(BuildResult.FAILURE, status, tuple(records))
        records.append(StepRecord(number, text, status, clock() - began))
        if status != 0:
            detail = f"{step_name(number, text)} exited {status}"
            console.line(f"--- step {number} failed (exit status {status})")
            return StepsOutcome(BuildResult.FAILURE, detail, tuple(records))
    return StepsOutcome(BuildResult.SUCCESS, None, tuple(records))


async def _guarded(step: Coroutine[Any, Any, int], guard: asyncio.Future[str] | None) -> int | str:
    """The step's exit status; or, when `guard` is done first, what it says, once the
    step is stopped."""
    if guard is None:
        return await step
    running = asyncio.ensure_future(step)
    either: set[asyncio.Future[Any]] = {running, guard}
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not running.done():  # the guard fired, or this build was cancelled
            running.cancel()
            await asyncio.shield(asyncio.gather(running, return_exceptions=True))
    if running.cancelled():
        return guard.result()
    return running.result()
