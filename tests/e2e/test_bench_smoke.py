"""The crosscheck-vs-Gerrit bench runs against the session's sandbox, at a tiny size."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from bench.results_vs_gerrit import compare

from crosscheck.drivers.gerrit.sandbox import SandboxState


async def test_results_vs_gerrit_bench_runs(
    sandbox: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await compare(sandbox, tmp_path, argparse.Namespace(patchsets=2, jobs=3, requests=3))
    output = capsys.readouterr().out
    assert "(6 current results)" in output
    assert "x faster (ratio of medians)" in output
