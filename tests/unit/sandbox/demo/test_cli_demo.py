"""`crosscheck sandbox demo --stop`, `down` stopping the demo's serve, and the refusals."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.sandbox.demo.flow import demo_dir

from ..factories import make_state
from .sleepers import ServeFactory


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_down_stops_the_demos_serve_then_gerrit(make_serve: ServeFactory, tmp_path: Path) -> None:
    make_state(tmp_path).save()  # a sandbox whose Gerrit is not running
    serve = make_serve(demo_dir(tmp_path))
    started = serve.start([tmp_path], 18123)
    code, output = run("sandbox", "--state-dir", str(tmp_path), "down")
    assert code == 0, output
    assert output.splitlines() == [
        f"The demo's crosscheck serve (pid {started.pid}) stopped.",
        "Sandbox Gerrit was not running.",
    ]
    assert serve.running_pid() is None


def test_demo_stop_stops_only_the_serve(make_serve: ServeFactory, tmp_path: Path) -> None:
    serve = make_serve(demo_dir(tmp_path))
    started = serve.start([tmp_path], 18123)
    code, output = run("sandbox", "--state-dir", str(tmp_path), "demo", "--stop")
    assert (code, output) == (0, f"The demo's crosscheck serve (pid {started.pid}) stopped.\n")
    code, output = run("sandbox", "--state-dir", str(tmp_path), "demo", "--stop")
    assert (code, output) == (0, "The demo's crosscheck serve was not running.\n")


def test_the_demo_needs_a_running_sandbox(tmp_path: Path) -> None:
    code, output = run("sandbox", "--state-dir", str(tmp_path / "none"), "demo")
    assert code == 1
    assert f"crosscheck sandbox --state-dir {tmp_path / 'none'} up" in output
    make_state(tmp_path).save()
    code, output = run("sandbox", "--state-dir", str(tmp_path), "demo")
    assert code == 1
    assert f"Error: the sandbox is absent: `crosscheck sandbox --state-dir {tmp_path} up`" in output
