"""Logging for every command (cli/logs.py): one grep-able line per record, JSON on request,
INFO by default for the servers, -v/-q before or after the command's name."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.cli import results as results_cli
from crosscheck.cli.logs import (
    CHATTY_LIBRARIES,
    FORMAT_ENV,
    JsonFormatter,
    LogFormat,
    TerminalHandler,
    TextFormatter,
    configure,
    level_for,
    make_handler,
)
from crosscheck.serve import lifecycle as server

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\w+) ([\w.]+): (.*)$")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The commands configure the process's root logger: put it back for the next test."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    libraries = {name: logging.getLogger(name).level for name in CHATTY_LIBRARIES}
    yield
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])
    for name, level in libraries.items():
        logging.getLogger(name).setLevel(level)


def record(message: str, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("crosscheck.serve.lifecycle", level, __file__, 1, message, (), None)
    made.created = 1_795_000_000.25  # 2026-11-18T11:06:40.250Z
    made.__dict__.update(extra)
    return made


def failure() -> logging.LogRecord:
    try:
        raise ValueError("the store is gone")
    except ValueError:
        return record("a pass failed", logging.ERROR, exc_info=sys.exc_info())


def test_a_text_line_has_the_utc_time_the_level_the_logger_and_the_message() -> None:
    line = TextFormatter().format(record("report item-3-sandbox on change 7,1: sent via rest"))
    assert line == (
        "2026-11-18T11:06:40.250Z INFO crosscheck.serve.lifecycle: "
        "report item-3-sandbox on change 7,1: sent via rest"
    )
    assert LINE.match(line)


def test_a_traceback_follows_its_line_in_text() -> None:
    first, *rest = TextFormatter().format(failure()).splitlines()
    assert first == "2026-11-18T11:06:40.250Z ERROR crosscheck.serve.lifecycle: a pass failed"
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: the store is gone"


def test_json_is_one_object_per_record_with_the_traceback_as_a_field() -> None:
    plain = json.loads(JsonFormatter().format(record("stream connected")))
    assert plain == {
        "time": "2026-11-18T11:06:40.250Z",
        "level": "INFO",
        "logger": "crosscheck.serve.lifecycle",
        "message": "stream connected",
    }
    text = JsonFormatter().format(failure())
    assert "\n" not in text
    failed = json.loads(text)
    assert failed["level"] == "ERROR"
    assert failed["exception"].endswith("ValueError: the store is gone")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal_and_json_on_request() -> None:
    handler = make_handler(LogFormat.TEXT, io.StringIO())
    assert isinstance(handler.formatter, TextFormatter)
    assert not isinstance(handler, TerminalHandler)
    assert isinstance(make_handler(LogFormat.JSON, Terminal()).formatter, JsonFormatter)


def test_a_terminal_gets_colour_but_long_lines_stay_whole() -> None:
    stream = Terminal()
    handler = make_handler(LogFormat.TEXT, stream)
    assert isinstance(handler, TerminalHandler)
    url = "http://ci.example.org/logs/34/1234/1/check/acme-cinder-iscsi/" + "b" * 120
    handler.handle(record(f"build finished: {url} [not markup]"))
    output = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())  # colours aside
    assert output.count("\n") == 1
    assert LINE.match(output.rstrip("\n"))
    assert url in output
    assert "[not markup]" in output


@pytest.mark.parametrize(
    ("default", "verbose", "quiet", "level"),
    [
        (logging.INFO, 0, 0, logging.INFO),
        (logging.INFO, 1, 0, logging.DEBUG),
        (logging.INFO, 3, 0, logging.DEBUG),
        (logging.INFO, 0, 1, logging.WARNING),
        (logging.INFO, 0, 2, logging.ERROR),
        (logging.INFO, 0, 5, logging.ERROR),
        (logging.WARNING, 1, 0, logging.INFO),
        (logging.WARNING, 2, 0, logging.DEBUG),
        (logging.WARNING, 1, 1, logging.WARNING),
    ],
)
def test_each_v_lowers_and_each_q_raises_the_level(
    default: int, verbose: int, quiet: int, level: int
) -> None:
    assert level_for(default, verbose, quiet) == level


def test_configuring_again_replaces_the_handler_and_quiets_chatty_libraries() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure(logging.INFO, LogFormat.TEXT, first)
    configure(logging.INFO, LogFormat.JSON, second)
    logging.getLogger("crosscheck.test").info("once")
    logging.getLogger("httpx").info("HTTP Request: GET http://gerrit/a/changes/ 200")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["message"] == "once"
    assert logging.getLogger("asyncssh").level == logging.WARNING
    configure(logging.DEBUG, LogFormat.TEXT, first)
    assert logging.getLogger("asyncssh").level == logging.DEBUG


class Seen:
    """What the server saw of logging when the command started it."""

    level: int | None = None
    handler: logging.Handler | None = None


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> type[Seen]:
    async def fake_serve(*_: object) -> None:
        root = logging.getLogger()
        Seen.level = root.level
        Seen.handler = next(h for h in root.handlers if getattr(h, "crosscheck", False))

    Seen.level = Seen.handler = None
    monkeypatch.setattr(server, "serve", fake_serve)
    monkeypatch.setattr(results_cli, "serve_results", fake_serve)
    monkeypatch.delenv(FORMAT_ENV, raising=False)
    return Seen


@pytest.mark.parametrize(
    ("args", "level"),
    [
        ([], logging.INFO),
        (["-v"], logging.DEBUG),
        (["-q"], logging.WARNING),
        (["-qq"], logging.ERROR),
    ],
)
def test_serve_logs_at_info_and_takes_v_and_q_after_its_name(
    seen: type[Seen], tmp_path: Path, args: list[str], level: int
) -> None:
    outcome = CliRunner().invoke(main, ["serve", "-c", str(tmp_path), *args])
    assert outcome.exit_code == 0, outcome.output
    assert seen.level == level


def test_v_before_serve_counts_too_and_adds_to_its_own(seen: type[Seen], tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["-v", "serve", "-c", str(tmp_path)]).exit_code == 0
    assert seen.level == logging.DEBUG
    assert CliRunner().invoke(main, ["-q", "serve", "-c", str(tmp_path), "-q"]).exit_code == 0
    assert seen.level == logging.ERROR


def test_json_logs_from_the_option_or_the_environment(
    seen: type[Seen], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CliRunner().invoke(main, ["serve", "-c", str(tmp_path), "--log-format", "json"])
    assert seen.handler is not None
    assert isinstance(seen.handler.formatter, JsonFormatter)
    monkeypatch.setenv(FORMAT_ENV, "json")
    CliRunner().invoke(main, ["serve", "-c", str(tmp_path)])
    assert isinstance(seen.handler.formatter, JsonFormatter)
    CliRunner().invoke(main, ["--log-format", "text", "serve", "-c", str(tmp_path)])
    assert isinstance(seen.handler.formatter, TextFormatter)


def test_results_serve_logs_at_info_too(seen: type[Seen], tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, ["results", "serve", "--no-ssh", "-q"])
    assert outcome.exit_code == 0, outcome.output
    assert seen.level == logging.WARNING
    CliRunner().invoke(main, ["results", "serve", "--no-ssh"])
    assert seen.level == logging.INFO


def test_other_commands_stay_at_warning(tmp_path: Path) -> None:
    (tmp_path / "ci.yaml").write_text("- ci: {name: Acme CI}\n")
    outcome = CliRunner().invoke(main, ["config", "check", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert logging.getLogger().level == logging.WARNING
    CliRunner().invoke(main, ["-v", "config", "check", str(tmp_path)])
    assert logging.getLogger().level == logging.INFO


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, ["serve", "-c", str(tmp_path), "--log-format", "xml"])
    assert outcome.exit_code == 2
    assert "'xml' is not one of 'text', 'json'" in outcome.output
