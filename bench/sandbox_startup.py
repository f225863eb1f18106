"""Sandbox Gerrit start-up time and memory.

Prints medians over several rounds (the machine is shared and noisy):
- cold `up`: a new state directory (site init, start, provisioning), Gerrit already cached;
- warm `up`: start an existing, stopped sandbox;
- idempotent `up`: on a sandbox already running;
- Gerrit's resident memory once ready, and after pushing 20 changes.

    python -m bench.sandbox_startup [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from crosscheck.paths import cache_dir
from crosscheck.sandbox.gerrit import Sandbox, SandboxRepo
from crosscheck.sandbox.gerrit.distribution import ensure_distribution


def rss_mib(pid: int | None) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def timed_up(box: Sandbox) -> float:
    began = time.perf_counter()
    await box.up()
    return time.perf_counter() - began


async def one_round(root: Path) -> dict[str, float]:
    box = Sandbox(root)
    figures = {"cold_up_s": await timed_up(box)}
    state = box.load()
    figures["rss_ready_mib"] = rss_mib(state.pid)
    repo = await SandboxRepo(state, state.projects[0], root / "work").open()
    for index in range(20):
        await repo.push_change({f"f{index}.txt": "x\n"}, f"bench change {index}")
    figures["rss_after_20_changes_mib"] = rss_mib(state.pid)
    figures["idempotent_up_s"] = await timed_up(box)
    box.down()
    figures["warm_up_s"] = await timed_up(box)
    box.down()
    return figures


async def main(rounds: int) -> None:
    ensure_distribution(cache_dir())
    results: list[dict[str, float]] = []
    for index in range(rounds):
        with tempfile.TemporaryDirectory(prefix="crosscheck-bench-") as root:
            results.append(await one_round(Path(root)))
        print(f"round {index + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in results[-1].items()))
    print(f"\nmedians over {rounds} rounds:")
    for key in results[0]:
        values = [r[key] for r in results]
        print(
            f"  {key:28s} {statistics.median(values):8.1f}   (min {min(values):.1f}, "
            f"max {max(values):.1f})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
