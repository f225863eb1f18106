"""Each bench script that needs no Gerrit runs, at a tiny size (the figures come from full runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_ingest_bench_prints_rates() -> None:
    output = bench(
        "bench.results_ingest", "--results", "20", "--batch", "10", "--rounds", "1",
        "--engines", "sqlite,postgresql",
    )  # fmt: skip
    assert output.count("HTTP API, 10 per request") == 2
    assert "(postgresql, median of 1 rounds)" in output


def test_pages_bench_loads_and_prints_latency() -> None:
    output = bench(
        "bench.results_pages", "--results", "3000", "--requests", "3",
        "--engines", "sqlite,postgresql",
    )  # fmt: skip
    assert output.count("loaded 3,000 results on 240 changes") == 2
    assert output.count("health table (HTML)") == 2


def test_scheduler_bench_prints_per_event_figures_and_memory() -> None:
    output = bench("bench.scheduler", "--events", "2", "--warmup", "1")
    assert "4,000 jobs configured" in output
    assert "3 items finished with 1,200 builds" in output
    assert "submit -> builds created" in output
    assert "submit -> report queued" in output
    assert "peak" in output


def test_timer_bench_prints_its_figures() -> None:
    output = bench("bench.timer", "--projects", "5", "--latency", "0", "--rounds", "1")
    assert "5 projects, 0 ms per Gerrit call, 1 rounds (medians): pass " in output


def test_promotion_bench_prints_decision_pointer_and_board_figures() -> None:
    output = bench(
        "bench.promotion", "--candidates", "40", "--results", "2000", "--rounds", "5",
        "--engines", "sqlite,postgresql",
    )  # fmt: skip
    assert output.count("loaded 40 candidates and 2,000 results") == 2
    for figure in ("deciding on it (the engine)", "pointer query", "board page (HTML)"):
        assert output.count(figure) == 2
