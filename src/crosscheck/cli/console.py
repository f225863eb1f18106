"""`crosscheck console BUILD [--follow]`: a build's console log, from a running crosscheck
serve (GET /api/v1/builds/{id}/console and its event stream; no token needed).

Lines are printed as written, timestamp first. On a terminal their colours are kept
and nothing else a build printed to steer a terminal (cursor moves, titles, clipboard
writes) reaches it; piped, the text is plain. With --follow the command prints until
the build ended, says how on stderr, and exits 0 only when it succeeded; a dropped
connection is resumed after the last line printed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import click
import httpx

from crosscheck.cli.serve_api import ServeApiError, reaching, url_option
from crosscheck.console.ansi import plain, to_terminal
from crosscheck.console.lines import split_stamp
from crosscheck.errors import said
from crosscheck.http.error_message import error_message

#: The event stream sends a comment every 15 s: a minute of silence is a dead server.
READ_TIMEOUT = 60.0
#: Reconnections in a row before --follow gives up.
RESUME_ATTEMPTS = 5
SUCCESS = "SUCCESS"


@click.command()
@url_option
@click.argument("build")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing until the build ends; exit 0 only if it succeeded.",
)
def console(url: str, build: str, follow: bool) -> None:
    """Print a build's console log. BUILD is its id, or its console's URL as
    `crosscheck status` shows it.
    """
    build_id = build_id_of(build)
    url = serve_of(build, url)
    show = printer(sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    with ConsoleClient(url) as client:
        found = client.build(build_id)
        if not follow:
            for line in client.lines(build_id):
                show(line)
            if found["live"]:
                click.echo(
                    f"build {build_id} is {found['state']}: --follow prints the rest as it comes",
                    err=True,
                )
            return
        end = client.follow(build_id, show)
    said = end.get("result") or end.get("state") or "ended"
    detail = f" ({end['detail']})" if end.get("detail") else ""
    click.echo(f"build {build_id} ({found['job']}): {said}{detail}", err=True)
    if end.get("result") != SUCCESS:
        raise click.exceptions.Exit(1)


def serve_of(given: str, url: str) -> str:
    """The server a console URL names, unless --url (or CROSSCHECK_URL) says another."""
    source = click.get_current_context().get_parameter_source("url")
    named = given.startswith(("http://", "https://")) and "/builds/" in given
    if named and source is click.core.ParameterSource.DEFAULT:
        return given.split("/builds/", 1)[0]
    return url


def build_id_of(given: str) -> str:
    """A build id as given, or taken from a console URL (`.../builds/<id>/console`)."""
    if "/builds/" in given:
        return unquote(given.split("/builds/", 1)[1].split("/", 1)[0].split("?", 1)[0])
    return given


def printer(colour: bool) -> Callable[[str], None]:
    render = to_terminal if colour else plain

    def show(line: str) -> None:
        # The build's text alone is rendered: a carriage return in it (what a progress
        # bar prints) must not erase crosscheck's timestamp, nor let the build write a
        # line that looks like crosscheck's own.
        date, _, text = split_stamp(line)
        stamp = line[: len(line) - len(text)] if date else ""
        # Whether colours go out is decided here; click would strip them off a non-tty.
        click.echo(stamp + render(text), color=colour)

    return show


@dataclass(frozen=True)
class ServerEvent:
    name: str
    data: str


def server_events(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """The events of a text/event-stream, read line by line (ids and retries aside: the
    client resumes from the lines it printed)."""
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield ServerEvent(name, "\n".join(data))
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


class ConsoleClient:
    """The console routes of one crosscheck serve."""

    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(10.0, read=READ_TIMEOUT),
            transport=transport,
        )

    def __enter__(self) -> ConsoleClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def build(self, build_id: str) -> dict[str, Any]:
        with reaching(self.url):
            answer = self._http.get(_path(build_id))
        self._check(answer, build_id)
        found: dict[str, Any] = answer.json()
        return found

    def lines(self, build_id: str) -> Iterator[str]:
        """The console as it is now."""
        with reaching(self.url), self._http.stream("GET", _path(build_id) + "/console") as answer:
            self._check(answer, build_id)
            yield from answer.iter_lines()

    def follow(self, build_id: str, show: Callable[[str], None]) -> dict[str, Any]:
        """Each line to `show` until the build ended; how it ended (the `end` event)."""
        start, failures = 1, 0
        while True:
            try:
                with self._http.stream(
                    "GET",
                    _path(build_id) + "/console/events",
                    params={"from": start, "format": "text"},
                ) as answer:
                    self._check(answer, build_id)
                    for event in server_events(answer.iter_lines()):
                        failures = 0
                        if event.name == "end":
                            ended: dict[str, Any] = json.loads(event.data)
                            return ended
                        if event.name == "line":
                            line = json.loads(event.data)
                            show(line["text"])
                            start = line["n"] + 1
            except httpx.TransportError as error:
                failures += 1
                if failures > RESUME_ATTEMPTS:
                    raise ServeApiError(
                        f"lost crosscheck serve at {self.url} after line {start - 1} "
                        f"({said(error)})"
                    ) from error
            else:
                failures += 1  # the stream closed without its end: serve is stopping
                if failures > RESUME_ATTEMPTS:
                    raise ServeApiError(
                        f"crosscheck serve at {self.url} kept closing the console of build "
                        f"{build_id} after line {start - 1}"
                    )
            time.sleep(min(failures, 5))

    def _check(self, answer: httpx.Response, build_id: str) -> None:
        if answer.is_success:
            return
        answer.read()
        detail = error_message(answer)
        if answer.status_code == httpx.codes.NOT_FOUND and detail.startswith("no build"):
            raise ServeApiError(
                f"crosscheck serve at {self.url} has no build {build_id!r}: "
                "`crosscheck status` shows the running builds with their consoles"
            )
        if answer.status_code == httpx.codes.NOT_FOUND:
            raise ServeApiError(
                f"{self.url} has no console API: is it crosscheck serve, a version with consoles?"
            )
        raise ServeApiError(
            f"crosscheck serve refused the request ({answer.status_code}): {detail}"
        )


def _path(build_id: str) -> str:
    return f"/api/v1/builds/{quote(build_id, safe='')}"
