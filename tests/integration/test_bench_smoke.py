"""Each bench script that needs no Gerrit runs, at a tiny size (the figures come from full runs)."""

from __future__ import annotations

import re
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
    assert output.count("HTTP API (in process), 10 per request") == 2
    assert output.count("over HTTP, one per request, 4 client(s)") == 2
    assert output.count("over HTTP, 10 per request, 1 client") == 2
    assert "(postgresql, median of 1 rounds)" in output


def test_pages_bench_loads_and_prints_latency() -> None:
    output = bench(
        "bench.results_pages", "--results", "3000", "--requests", "3",
        "--engines", "sqlite,postgresql",
    )  # fmt: skip
    assert output.count("loaded 3,000 results on 240 changes") == 2
    assert output.count("health table (HTML)") == 2
    assert output.count("health, snapshot taken (JSON)") == 2
    assert output.count("(6 results written, one before each read)") == 2


def test_pages_bench_reuses_a_kept_sqlite_store(tmp_path: Path) -> None:
    args = ("bench.results_pages", "--results", "2000", "--requests", "2", "--engines", "sqlite")
    store = str(tmp_path / "kept.db")
    first = bench(*args, "--store", store)
    assert "loaded 2,000 results on 160 changes" in first
    again = bench(*args, "--store", store)
    assert "reusing the loaded store (2,000 results)" in again
    assert "loaded" not in again.replace("the loaded store", "")
    assert "health table (JSON)" in again


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


def test_config_expansion_bench_runs_both_tools_side_by_side() -> None:
    # Jenkins Job Builder is installed from PyPI into the bench's own venv if missing.
    output = bench(
        "bench.config_expansion", "--projects", "1", "--scenarios", "10", "--suites", "1",
        "--rounds", "1",
    )  # fmt: skip
    assert "40 jobs from templates" in output
    assert "Jenkins Job Builder 6." in output
    assert re.search(r"crosscheck's \d+ modules byte-compiled first", output), output
    rows = {line[:40].strip(): line[40:] for line in output.splitlines() if line.startswith("  ")}
    for command in ("jenkins-jobs test", "crosscheck config check", "crosscheck config show"):
        assert rows[command].count(" s") == 2, rows  # wall and CPU time
        assert "MiB" in rows[command], rows
    assert output.count("x faster (CPU") == 3
    assert "peak RSS: crosscheck's largest" in output


def test_mirror_refs_bench_bounds_the_refs_and_prints_times() -> None:
    output = bench("bench.mirror_refs", "--changes", "30", "--keep", "10", "--rounds", "2")
    lines = [line for line in output.splitlines() if "workspace median" in line]
    assert len(lines) == 3
    counts = (re.search(r"([\d,]+) refs +workspace", line) for line in lines)
    refs = [int(found.group(1).replace(",", "")) for found in counts if found]
    # 30 built, a seed and master; 2 more measured; then the newest 10 and master.
    assert refs == [32, 34, 11]
