"""The sandbox benches run against the session's sandbox, at a tiny size."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from bench.ci_loop import measure, report
from bench.results_vs_gerrit import compare

from crosscheck.sandbox.gerrit import SandboxState


async def test_results_vs_gerrit_bench_runs(
    sandbox: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await compare(sandbox, tmp_path, argparse.Namespace(patchsets=2, jobs=3, requests=3))
    output = capsys.readouterr().out
    assert "(6 current results)" in output
    assert "x faster (ratio of medians)" in output


async def test_ci_loop_bench_measures_push_to_vote_and_gerrits_parts(
    sandbox: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = await measure(sandbox, tmp_path, pushes=2, warmup=1)
    report(samples)
    output = capsys.readouterr().out
    assert "2 changes, one voting job running `true`" in output
    assert "overhead: push->vote minus the two Gerrit figures" in output
    assert len(samples.stages["build finished"]) == 2
    # The vote comes after the change's event, and the overhead is what lies between.
    assert all(v > e for v, e in zip(samples.push_to_vote, samples.push_to_event, strict=True))
