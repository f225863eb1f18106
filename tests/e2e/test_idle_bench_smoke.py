"""The idle bench runs against the session's sandbox, for a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.idle import measure, report

from crosscheck.sandbox.gerrit import SandboxState


async def test_idle_bench_measures_cpu_memory_and_no_scheduler_pass(
    sandbox: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = await measure(sandbox, tmp_path, seconds=3, rounds=2, settle=1)
    report(found, 3)
    output = capsys.readouterr().out
    assert "idle crosscheck serve, 2 round(s) of 3 s (medians)" in output
    assert "s per idle minute" in output
    assert len(found.rss_mib) == 2
    assert all(rss > 10 for rss in found.rss_mib)
    assert all(cpu >= 0 for cpu in found.cpu_per_minute)
    assert len(found.on_cpu_per_minute) == 2
    assert all(cpu >= 0 for cpu in found.on_cpu_per_minute)
    assert "ms by schedstat" in output
    # serve exports its passes, and an idle one runs none.
    assert found.passes_per_minute == [0.0, 0.0]
