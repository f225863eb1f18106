"""The lab benches run at a tiny size on their own labs, so they keep working; the
figures come from full runs (bench/README.md)."""

from __future__ import annotations

import subprocess
import sys


def bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_nodes_bench_compares_ssh_builds_with_local_ones() -> None:
    output = bench("bench.nodes", "--builds", "4", "--nodes", "2", "--rounds", "2")
    assert "overhead of SSH" in output
    assert "send the workspace" in output
    assert "SSH throughput / local" in output


def test_the_console_bench_measures_lines_into_a_following_browser() -> None:
    output = bench("bench.console", "--builds", "1", "--lines", "5")
    assert "5 lines over 1 builds on an SSH node" in output
    assert "p95" in output
