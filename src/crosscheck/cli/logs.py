"""Logging for every command: one line per record, grep-able, or JSON lines.

A record is `TIME LEVEL LOGGER: MESSAGE`, the time ISO 8601 in UTC to the
millisecond. On a terminal the same line is coloured by Rich but never wrapped
(a URL or a path split over two lines cannot be grepped or copied); anywhere
else it is plain text. `--log-format json` (or CROSSCHECK_LOG_FORMAT=json) writes
one JSON object per record instead: time, level, logger, message, and exception
when there is one.

Commands log at WARNING unless asked; servers (`serve`, `results serve`) at INFO,
because what they do in the background is only seen in their log. Each -v lowers
the level one step, each -q raises it, before or after the command's name.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:  # Rich is imported when a terminal needs it: every command imports this
    from rich.console import Console

FORMAT_ENV = "CROSSCHECK_LOG_FORMAT"

#: Libraries that are chatty at INFO (a line per HTTP request, per SSH channel, per
#: migration step): they speak at WARNING unless the level is DEBUG.
CHATTY_LIBRARIES = ("asyncssh", "httpx", "httpcore", "uvicorn", "alembic", "aiosqlite")

STEP = logging.INFO - logging.DEBUG
LEVEL_STYLES = {
    "DEBUG": "dim",
    "INFO": "green",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold red",
}


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def utc_time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """`2026-12-02T18:04:51.123Z INFO crosscheck.serve.lifecycle: message`, traceback below."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{utc_time(record)} {record.levelname} {record.name}: {record.getMessage()}"
        details = _details(self, record)
        return f"{line}\n{details}" if details else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is a field, so a record stays one line."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        details = _details(self, record)
        if details:
            fields["exception"] = details
        return json.dumps(fields, ensure_ascii=False)


def _details(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    parts = []
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts)


class TerminalHandler(logging.Handler):
    """The text line, its level coloured, printed by Rich without wrapping."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self.setFormatter(TextFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        from rich.text import Text  # noqa: PLC0415

        try:
            text = Text(f"{utc_time(record)} ", style="dim")
            text.append(record.levelname, style=LEVEL_STYLES.get(record.levelname, ""))
            text.append(f" {record.name}: ", style="dim")
            text.append(record.getMessage())
            details = _details(self.formatter or TextFormatter(), record)
            if details:
                text.append(f"\n{details}")
            self.console.print(text, soft_wrap=True, highlight=False, markup=False)
        except Exception:  # as logging's own handlers do: a log line never crashes the caller
            self.handleError(record)


def make_handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """JSON lines on request; else Rich on a terminal, plain lines anywhere else."""
    stream = stream if stream is not None else sys.stderr
    if log_format is LogFormat.JSON:
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
    elif stream.isatty():
        from rich.console import Console  # noqa: PLC0415

        handler = TerminalHandler(Console(file=stream, soft_wrap=True))
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(TextFormatter())
    return handler


def level_for(default: int, verbose: int = 0, quiet: int = 0) -> int:
    """`default` lowered a step per -v and raised a step per -q, within DEBUG..ERROR."""
    return min(max(default - STEP * (verbose - quiet), logging.DEBUG), logging.ERROR)


def configure(level: int, log_format: LogFormat, stream: TextIO | None = None) -> None:
    """Replace the handler this module installed (if any) on the root logger: a server
    command configures again, after the root group, with its own default level."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "crosscheck", False)]:
        root.removeHandler(handler)
    handler = make_handler(log_format, stream)
    handler.crosscheck = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    libraries = level if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(libraries)


# -- the options ------------------------------------------------------------------------

F = Callable[..., Any]


def log_options(*, env: bool) -> Callable[[F], F]:
    """-v, -q and --log-format; `env`: whether --log-format defaults to $CROSSCHECK_LOG_FORMAT
    (the root group's does; a command's inherits the root's)."""

    def decorate(function: F) -> F:
        function = click.option(
            "--log-format",
            type=click.Choice([f.value for f in LogFormat]),
            envvar=FORMAT_ENV if env else None,
            show_envvar=env,
            help="Log lines as text (coloured on a terminal) or JSON objects [default: text].",
        )(function)
        function = click.option(
            "-q", "--quiet", count=True, help="Less log output, a level per -q (WARNING, ERROR)."
        )(function)
        more = "More log output, a level per -v (INFO, DEBUG)."
        return click.option("-v", "--verbose", count=True, help=more)(function)

    return decorate


def configure_command(default: int, verbose: int, quiet: int, log_format: str | None) -> None:
    """Logging for a command at `default`, with its own and the root group's -v/-q."""
    root = click.get_current_context().find_root().params
    configure(
        level_for(default, verbose + root.get("verbose", 0), quiet + root.get("quiet", 0)),
        LogFormat(log_format or root.get("log_format") or LogFormat.TEXT),
    )
