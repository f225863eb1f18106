"""`crosscheck run`: its error paths, no Gerrit needed (the e2e tests run real builds)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.cli.run import _say_confinement, _stoppable
from crosscheck.executor import executor_from_config
from crosscheck.model.config import Config, ExecutorSettings
from crosscheck.model.node import Lab

CONFIG = """
- connection:
    name: upstream
    host: review.example.org
    http_url: http://127.0.0.1:9/
    user: ci
- label: {name: lab}
- job: {name: acme-base, abstract: true, node: lab, run: ["true"]}
- job: {name: acme-unit, parent: acme-base}
"""


def run(tmp_path: Path, *args: str, config: str = CONFIG) -> tuple[int, str]:
    path = tmp_path / "ci.yaml"
    path.write_text(config)
    result = CliRunner().invoke(main, ["run", *args, "--config", str(path)])
    return result.exit_code, result.output


def test_an_unknown_job_suggests_the_closest(tmp_path: Path) -> None:
    code, output = run(tmp_path, "acme-unti", "--change", "1")
    assert code == 2
    assert "no job 'acme-unti'; did you mean 'acme-unit'?" in output


def test_an_abstract_job_is_refused(tmp_path: Path) -> None:
    code, output = run(tmp_path, "acme-base", "--change", "1")
    assert code == 2
    assert "job 'acme-base' is abstract: run a job inheriting from it" in output


@pytest.mark.parametrize("change", ["abc", "12,x", "x,1", "0", "3,0", "-1"])
def test_a_bad_change_says_what_to_give(tmp_path: Path, change: str) -> None:
    code, output = run(tmp_path, "acme-unit", "--change", change)
    assert code == 2
    assert "--change" in output
    assert "1042,3" in output or "start at 1" in output


def test_an_unknown_connection_lists_the_known_ones(tmp_path: Path) -> None:
    code, output = run(tmp_path, "acme-unit", "--change", "1", "--connection", "gerrit")
    assert code == 2
    assert "no connection 'gerrit'; connections: upstream" in output


def test_an_invalid_configuration_lists_its_errors(tmp_path: Path) -> None:
    code, output = run(
        tmp_path, "acme-unit", "--change", "1", config="- job: {name: x, nodes: y}\n"
    )
    assert code == 1
    assert "the configuration has" in output
    assert "did you mean 'node'?" in output


def test_an_unreachable_gerrit_is_one_clear_error(tmp_path: Path) -> None:
    code, output = run(tmp_path, "acme-unit", "--change", "1")
    assert code == 1
    assert "no answer from Gerrit at http://127.0.0.1:9" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("confine", "said"),
    [
        ("auto", "local builds: confined by bubblewrap (docs/executor.md)"),
        ("none", "local builds: not confined ('confine: none')"),
    ],
)
def test_a_run_says_whether_its_build_is_confined(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    confine: str,
    said: str,
) -> None:
    """As serve says at its start: `crosscheck run` builds on this host too."""
    monkeypatch.setenv("CROSSCHECK_STATE_DIR", str(tmp_path / "state"))
    settings = ExecutorSettings(confine=confine)  # type: ignore[arg-type]
    config = Config(executor=settings, lab=Lab(local_labels=frozenset({"local"})))
    _say_confinement(config, executor_from_config(config))
    assert capsys.readouterr().err.strip() == said


def test_a_run_without_bubblewrap_says_why_its_build_is_not_confined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CROSSCHECK_STATE_DIR", str(tmp_path / "state"))
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "bwrap" else which(name))
    config = Config(lab=Lab(local_labels=frozenset({"local"})))
    _say_confinement(config, executor_from_config(config))
    assert capsys.readouterr().err.strip() == (
        "local builds: not confined (no working bubblewrap: bwrap is not installed "
        "(sudo apt-get install bubblewrap))"
    )


def test_sigterm_cancels_a_run_as_ctrl_c_does() -> None:
    """The build's own clean-up runs (its steps get their kill_grace) before the
    process ends, as with Ctrl-C; SIGTERM's default would end it under them."""
    cleaned: list[str] = []

    async def build() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # the grace: the loop still runs after the signal
            cleaned.append("finished as canceled")
            raise
        return "not stopped"

    async def main() -> str:
        asyncio.get_running_loop().call_later(0.1, os.kill, os.getpid(), signal.SIGTERM)
        return await _stoppable(build())

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert cleaned == ["finished as canceled"]
    # Afterwards SIGTERM is not left pointing at a finished loop.
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.default_int_handler)
