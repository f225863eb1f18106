"""Buildbot 4.x against crosscheck on one sandbox Gerrit, in one run.

Each CI has its own project and account on the same sandbox Gerrit: crosscheck (a
real `crosscheck serve`, one voting job running `true`) votes on bench/crosscheck as
the sandbox's CI account; Buildbot (installed from PyPI into a venv of the bench's own:
GerritChangeSource, one builder running `true` on one local worker, GerritStatusPush)
votes on bench/buildbot as an account of its own. Then:

- push -> vote: pushes alternate between the two projects (push, wait for the vote,
  `--gap` seconds of quiet, push to the other side); median and p95 over `--pushes`
  each, after `--warmup`;
- a burst: `--burst` changes pushed at once to each side in turn, with equal
  concurrency (crosscheck's slots = the worker's max_builds = `--slots`): first push
  to last vote, and each change's own push -> vote;
- idle: after `--settle` seconds, both sides' whole process trees over the same
  `--idle-seconds` window: CPU seconds per minute (/proc utime + stime, reaped children
  included) and resident memory at the end.

Every figure is printed with the ratio crosscheck / Buildbot of this run. crosscheck's
modules are byte-compiled first (bench/bytecode.py), as Buildbot's are by pip.

    python -m bench.peers.buildbot [--pushes 20] [--burst 30] [--idle-seconds 60]
        [--state-dir DIR] [--peer-venv DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import subprocess
import tempfile
from pathlib import Path

from tests.e2e.ci_loop_harness import ServeProcess, write_config
from tests.e2e.gerrit_clients import stream_events

from bench.bytecode import byte_compiled
from bench.ci_loop import trivial_config
from bench.peers.buildbot_peer import BuildbotPeer
from bench.peers.gerrit_setup import CROSSCHECK_PROJECT, PEER_PROJECT, set_up
from bench.peers.measure import Side, Sizes, alternate, burst, idle
from bench.peers.report import print_report
from bench.peers.venv import PeerVenv, buildbot_venv
from crosscheck.sandbox.gerrit import Sandbox, SandboxRepo, SandboxState


async def clones(state: SandboxState, project: str, where: Path, count: int) -> list[SandboxRepo]:
    return list(
        await asyncio.gather(
            *(SandboxRepo(state, project, where / str(i)).open() for i in range(count))
        )
    )


async def measure(
    state: SandboxState, scratch: Path, sizes: Sizes, peer_venv: Path | None = None
) -> tuple[list[Side], dict[str, str]]:
    """Both CIs side by side on the sandbox; the sides with their figures, and versions."""
    venv = buildbot_venv(peer_venv)
    peer = await buildbot(venv, state, scratch, sizes.slots)
    config = write_config(
        state, scratch / "config", ci_yaml=trivial_config(CROSSCHECK_PROJECT, sizes.slots)
    )
    serve = ServeProcess(config, scratch / "serve")
    count = max(sizes.burst, 1)
    ours, theirs = await asyncio.gather(
        clones(state, CROSSCHECK_PROJECT, scratch / "repos" / "crosscheck", count),
        clones(state, PEER_PROJECT, scratch / "repos" / "buildbot", count),
    )
    sides = [
        Side("crosscheck", state.ci.username, ours, lambda: _pids(serve)),
        Side("Buildbot", peer.account.username, theirs, peer.pids),
    ]
    serve.start()
    peer.start()
    try:
        await asyncio.gather(serve.ready(), peer.ready())
        await run(state, sides, sizes)
    finally:
        serve.stop()
        peer.stop()
    versions = {
        "crosscheck": importlib.metadata.version("crosscheck"),
        "Buildbot": f"{venv.version('buildbot')} (worker {venv.version('buildbot-worker')})",
        "Gerrit": state.gerrit_version,
    }
    return sides, versions


async def buildbot(venv: PeerVenv, state: SandboxState, scratch: Path, slots: int) -> BuildbotPeer:
    """Buildbot's master and worker created (not started), with its account on the sandbox."""
    account = await set_up(state, scratch / "keys")
    peer = BuildbotPeer(
        venv, scratch / "buildbot", state, account=account, project=PEER_PROJECT, max_builds=slots
    )
    peer.create()
    return peer


async def run(state: SandboxState, sides: list[Side], sizes: Sizes) -> None:
    """Alternating pushes, a burst on each side in turn, then both idle."""
    async with stream_events(state) as stream:
        await alternate(sides, stream, sizes.pushes, sizes.warmup, sizes.gap)
        for side in sides:
            await burst(side, stream, sizes.burst)
    await asyncio.sleep(sizes.settle)
    await idle(sides, sizes.idle_seconds)


def _pids(serve: ServeProcess) -> list[int]:
    return [serve.process.pid] if serve.process is not None else []


def commit() -> str:
    """The checkout's commit, and whether its files differ from it."""
    where = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, cwd=where
        ).stdout.strip()

    head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain")
    return f"{head} (with uncommitted changes)" if dirty else head


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def main(sizes: Sizes, state_dir: Path | None, peer_venv: Path | None) -> None:
    before = load()
    compiled = byte_compiled()
    with tempfile.TemporaryDirectory(prefix="crosscheck-peers-") as scratch_dir:
        scratch = Path(scratch_dir)
        if state_dir is not None:
            sides, versions = await measure(SandboxState.load(state_dir), scratch, sizes, peer_venv)
        else:
            box = Sandbox(scratch / "sandbox")
            state = (await box.up()).state
            try:
                sides, versions = await measure(state, scratch, sizes, peer_venv)
            finally:
                box.down()
    print(f"commit {commit()}; load average before {before}, after {load()}")
    print(f"{compiled}; Buildbot's by pip")
    print_report(sides, versions, sizes)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    defaults = Sizes()
    parser.add_argument("--pushes", type=int, default=defaults.pushes)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--burst", type=int, default=defaults.burst)
    parser.add_argument("--slots", type=int, default=defaults.slots, help="each side's concurrency")
    parser.add_argument("--settle", type=float, default=defaults.settle)
    parser.add_argument("--idle-seconds", type=float, default=defaults.idle_seconds)
    parser.add_argument(
        "--gap", type=float, default=defaults.gap, help="seconds of quiet before each push"
    )
    parser.add_argument("--state-dir", type=Path, default=None, help="reuse a running sandbox")
    parser.add_argument("--peer-venv", type=Path, default=None, help="Buildbot's virtualenv")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    sizes = Sizes(
        arguments.pushes,
        arguments.warmup,
        arguments.burst,
        arguments.slots,
        arguments.settle,
        arguments.idle_seconds,
        arguments.gap,
    )
    asyncio.run(main(sizes, arguments.state_dir, arguments.peer_venv))
