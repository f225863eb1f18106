"""bench/timer.py runs, at a tiny size (the figures come from full runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]


def test_the_timer_bench_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.timer", "--projects", "5", "--latency", "0", "--rounds", "1"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 projects, 0 ms per Gerrit call, 1 rounds (medians): pass " in done.stdout
