"""The sandbox benches run against the session's sandbox, at a tiny size."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from bench.burst import measure as burst
from bench.ci_loop import measure, report
from bench.results_vs_gerrit import compare

from crosscheck.sandbox.gerrit import SandboxState


async def test_results_vs_gerrit_bench_runs(
    sandbox: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shape = argparse.Namespace(cis=2, comments=1, patchsets=2, jobs=3, requests=3)
    await compare(sandbox, tmp_path, shape)
    output = capsys.readouterr().out
    assert "2 CIs x 2 patchsets x 3 jobs (12 current results)" in output
    assert "1 human comments per patchset" in output
    # Both pairs, each with its ratios; the counts were asserted on every request.
    assert "every patchset, every CI (12 results):" in output
    assert "the current patchset only (6 results):" in output
    assert output.count("x faster (ratio of medians)") >= 2
    assert output.count("x faster (ratio of p95s)") == 2
    assert "crosscheck GET /changes/N (the HTML page)" in output


async def test_ci_loop_bench_measures_push_to_vote_and_gerrits_parts(
    sandbox: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = await measure(sandbox, tmp_path, pushes=2, warmup=1)
    report(samples)
    output = capsys.readouterr().out
    assert "2 changes, one voting job running `true`" in output
    assert "overhead: push->vote minus the two Gerrit figures" in output
    assert len(samples.stages["build finished"]) == 2
    # No job matches files and each upload came fresh: planning took the stream's word.
    assert samples.spared >= 2
    assert "planning read of the change spared by the stream: " in output
    # The vote comes after the change's event, and the overhead is what lies between.
    assert all(v > e for v, e in zip(samples.push_to_vote, samples.push_to_event, strict=True))


async def test_burst_bench_times_a_burst_and_each_builds_workspace(
    sandbox: SandboxState,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSCHECK_CACHE_DIR", str(tmp_path / "cache"))  # burst sets it
    await burst(sandbox, tmp_path, argparse.Namespace(changes=3, slots=2, rounds=1, warmup=1))
    output = capsys.readouterr().out
    assert "1 burst(s) of 3 changes at once, 2 local slots, one job each:" in output
    # Each of the burst's builds was timed, its workspace too (from its console).
    assert "(3 builds)" in output
    assert output.count("(3 builds)") == 2
    # Both sides did work for the changes: serve (and its git), and Gerrit.
    cpu = re.search(r"crosscheck serve (\d+) ms \(its own Python \d+ ms\), Gerrit (\d+) ms", output)
    assert cpu is not None, output
    assert int(cpu[1]) > 0
    assert int(cpu[2]) > 0
