"""The `crosscheck` command's help and its error paths (no Gerrit needed)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from crosscheck.cli import main

from .sandbox.factories import make_state


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_help_lists_the_commands() -> None:
    code, output = run("--help")
    assert code == 0
    assert "Third-party CI for Gerrit" in output
    assert "sandbox" in output


def test_sandbox_help_lists_its_subcommands() -> None:
    code, output = run("sandbox", "--help")
    assert code == 0
    for command in ("up", "down", "status", "info", "push", "fetch", "demo"):
        assert f"  {command}" in output


def test_status_of_no_sandbox_says_absent_and_exits_3(tmp_path: Path) -> None:
    code, output = run("sandbox", "--state-dir", str(tmp_path), "status")
    assert code == 3
    assert "absent" in output


def test_info_without_a_sandbox_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    code, output = run("sandbox", "--state-dir", str(tmp_path / "none"), "info")
    assert code == 1
    assert "Error: no sandbox in" in output
    assert f"crosscheck sandbox --state-dir {tmp_path / 'none'} up" in output
    assert "Traceback" not in output


def test_down_without_a_sandbox_is_harmless(tmp_path: Path) -> None:
    code, output = run("sandbox", "--state-dir", str(tmp_path), "down")
    assert code == 0
    assert "was not running" in output


def test_a_malformed_file_option_names_the_option(tmp_path: Path) -> None:
    make_state(tmp_path).save()
    code, output = run("sandbox", "--state-dir", str(tmp_path), "push", "--file", "no-equals")
    assert code == 2
    assert "--file" in output
    assert "PATH=CONTENT" in output


def test_ports_out_of_range_are_refused() -> None:
    code, output = run("sandbox", "up", "--http-port", "70000")
    assert code == 2
    assert "--http-port" in output


def test_a_mistyped_command_gets_a_suggestion() -> None:
    code, output = run("sandbx")
    assert code == 2
    assert "No such command 'sandbx'" in output
    assert "Did you mean 'sandbox'?" in output
