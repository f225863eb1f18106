"""`crosscheck console BUILD [--follow]` against the console routes served by a real
uvicorn on a local port, builds written as the executor writes them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crosscheck.cli import main
from crosscheck.cli.console import ServerEvent, build_id_of, printer, server_events
from crosscheck.model.build import BuildResult
from tests.consoles import ConsoleSite, add_build, finish_build, serve_consoles, start_build


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    with serve_consoles(tmp_path_factory.mktemp("consoles")) as served:
        yield served


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["console", *args])


def test_the_console_so_far_is_printed_plain_when_piped(site: ConsoleSite) -> None:
    build_id = site.run(add_build(site.engine))
    console = site.run(start_build(site.engine, site.logs_root, build_id, site.hub))
    console.lines(["\x1b[31mred\x1b[0m", "\x1b]0;owned-title\x07<b>kept</b>\x1b[2J"])
    try:
        shown = cli(build_id, "--url", site.url)
    finally:
        console.close()
    assert shown.exit_code == 0, shown.output
    texts = [line.split(" | ", 1)[1] for line in shown.stdout.splitlines()]
    assert texts == ["red", "<b>kept</b>"]
    assert shown.stderr == f"build {build_id} is running: --follow prints the rest as it comes\n"
    site.run(finish_build(site.engine, build_id))


@pytest.mark.parametrize(
    ("result", "code", "said"),
    [(BuildResult.SUCCESS, 0, "SUCCESS"), (BuildResult.FAILURE, 1, "FAILURE (step 2 failed)")],
)
def test_follow_prints_until_the_end_and_exits_as_the_build_ended(
    site: ConsoleSite, result: BuildResult, code: int, said: str
) -> None:
    build_id = site.run(add_build(site.engine))
    console = site.run(start_build(site.engine, site.logs_root, build_id, site.hub))
    console.line("before the command")
    outcome: list[Result] = []
    following = threading.Thread(
        target=lambda: outcome.append(cli(build_id, "--follow", "--url", site.url))
    )
    following.start()
    deadline = time.monotonic() + 10
    while not site.hub.followers(build_id):
        assert time.monotonic() < deadline, "the command never followed the build"
        time.sleep(0.02)
    for n in range(3):
        console.line(f"\x1b[32mstep {n}\x1b[0m")
    console.line(f"--- result: {result}")
    console.close()
    site.run(finish_build(site.engine, build_id, result, None if code == 0 else "step 2 failed"))
    following.join(15)
    (ended,) = outcome
    assert ended.exit_code == code, ended.output
    texts = [line.split(" | ", 1)[1] for line in ended.stdout.splitlines()]
    assert texts == ["before the command", "step 0", "step 1", "step 2", f"--- result: {result}"]
    assert ended.stderr.splitlines()[-1] == f"build {build_id} (lab): {said}"


def test_a_finished_build_followed_ends_at_once(site: ConsoleSite) -> None:
    build_id = site.run(add_build(site.engine))
    with site.run(start_build(site.engine, site.logs_root, build_id, site.hub)) as console:
        console.line("all there is")
    site.run(finish_build(site.engine, build_id, BuildResult.SUCCESS))
    began = time.monotonic()
    ended = cli(f"{site.url}/builds/{build_id}/console", "-f", "--url", site.url)
    assert time.monotonic() - began < 5
    assert ended.exit_code == 0, ended.output
    assert ended.stdout.endswith(" | all there is\n")


def test_an_unknown_build_is_a_clear_error(site: ConsoleSite) -> None:
    for args in (["nope"], ["nope", "--follow"]):
        result = cli(*args, "--url", site.url)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: crosscheck serve at {site.url} has no build 'nope': `crosscheck status` "
            "shows the running builds with their consoles\n"
        )


def test_a_server_that_is_not_running_is_named() -> None:
    result = cli("b1", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "cannot reach crosscheck serve at http://127.0.0.1:9" in result.stderr


def test_a_console_url_names_its_build() -> None:
    assert build_id_of("https://ci.example.org/builds/ab12/console") == "ab12"
    assert build_id_of("https://ci.example.org/builds/ab12/console?raw#L3") == "ab12"
    assert build_id_of("ab12") == "ab12"


def test_a_terminal_gets_colours_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    printer(colour=True)("\x1b[31mred\x1b]0;owned\x07\x1b[0m \x1b[6n")
    printer(colour=False)("\x1b[31mred\x1b[0m")
    assert capsys.readouterr().out == "\x1b[0;31mred\x1b[0m \nred\n"


def test_a_carriage_return_in_a_build_line_keeps_crosscheck_s_timestamp(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What a progress bar prints overwrites the build's own text only: a build cannot
    erase the stamp and print a line that looks like crosscheck's."""
    stamp = "2026-12-07 21:11:43.631 | "
    printer(colour=False)(f"{stamp}M\rOVERWRITE")
    printer(colour=False)(f"{stamp}x\r{stamp}--- result: SUCCESS")
    assert capsys.readouterr().out.splitlines() == [
        f"{stamp}OVERWRITE",
        f"{stamp}{stamp}--- result: SUCCESS",
    ]


def test_server_events_are_parsed_as_a_browser_would() -> None:
    stream = [
        "retry: 2000", "", ": keepalive", "", "id: 1", "event: line", 'data: {"n": 1}', "",
        "data: a", "data: b", "", "event: end", "data:{}", "",
    ]  # fmt: skip
    assert list(server_events(stream)) == [
        ServerEvent("line", '{"n": 1}'),
        ServerEvent("message", "a\nb"),
        ServerEvent("end", "{}"),
    ]


def test_the_command_is_listed(tmp_path: Path) -> None:
    assert "console" in CliRunner().invoke(main, ["--help"]).output


def test_a_console_url_reaches_the_server_it_names_unless_url_says_another(
    site: ConsoleSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSCHECK_URL", raising=False)
    build_id = site.run(add_build(site.engine))
    console = site.run(start_build(site.engine, site.logs_root, build_id, site.hub))
    console.lines(["from the server the link names"])
    console.close()
    shown = cli(f"{site.url}/builds/{build_id}/console")
    assert shown.exit_code == 0, shown.output
    assert "from the server the link names" in shown.stdout
    elsewhere = cli(f"{site.url}/builds/{build_id}/console", "--url", "http://127.0.0.1:9")
    assert elsewhere.exit_code == 1
    assert "http://127.0.0.1:9" in elsewhere.stderr
