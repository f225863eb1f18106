"""`crosscheck status`: the queues, running builds and undelivered reports of a running
crosscheck serve."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from crosscheck.cli.serve_api import ServeApi, url_option
from crosscheck.errors import printable
from crosscheck.model.build import BuildResult, format_duration
from crosscheck.model.report import RESULTS_SERVICE
from crosscheck.model.states import BuildState, ItemState

#: Results (upper case) not named here are failures of some kind, shown in red.
STATE_STYLES: dict[str, str] = {
    BuildState.RUNNING: "cyan",  # an item's too
    BuildState.WAITING: "yellow",
    ItemState.NEW: "yellow",
    BuildState.CANCELED: "magenta",
    BuildResult.SUCCESS: "green",
}


@click.command()
@url_option
@click.option("--json", "as_json", is_flag=True, help="Print the status API's JSON as it is.")
def status(url: str, as_json: bool) -> None:
    """Show each pipeline's queued items and their builds, the builds running now, and
    the reports not delivered: waiting for their next attempt, or given up lately.

    Reads GET /api/v1/status of crosscheck serve, which needs no token.
    """
    with ServeApi(url) as api:
        data = api.status()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    render(data, output_console(), datetime.now(UTC))


#: Columns when the output is no terminal: a pipe or a file would get 80, which
#: folds log URLs and branch names over several lines and breaks grep.
PIPED_WIDTH = 240


def output_console() -> Console:
    """A terminal's own width; a pipe's or a file's wide enough for whole lines,
    unless COLUMNS says otherwise."""
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=PIPED_WIDTH if piped else None)


def render(data: dict[str, Any], console: Console, now: datetime) -> None:
    """One tree per pipeline (items, then their builds), then the running builds."""
    # With items of two Gerrits, a change number alone could be either's.
    connections = {i.get("connection") for p in data["pipelines"] for i in p["items"]}
    for pipeline in data["pipelines"]:
        console.print(_pipeline_tree(pipeline, now, qualified=len(connections) > 1))
    running = data["running_builds"]
    retrying = data.get("retrying_builds") or 0  # a server from before says nothing
    console.print(
        f"{len(running)} build(s) running, {data['waiting_builds']} waiting for a node"
        + (f", {retrying} waiting to retry" if retrying else ""),
        highlight=False,
    )
    if running:
        console.print(_running_table(running, now))
    # A server from before reports were shown has no such section.
    if "reports" in data:
        _render_reports(data["reports"], console, now)
    if data.get("nodes"):
        console.print(_nodes_table(data["nodes"]))


def _nodes_table(nodes: list[dict[str, Any]]) -> Table:
    """One line per node; `crosscheck nodes` shows holds and autoholds in full."""
    table = Table(title="nodes", title_justify="left")
    for column in ("node", "state", "labels", "builds", "reason"):
        table.add_column(column, overflow="fold")
    for node in nodes:
        reason = node["reason"]
        if node.get("held_by"):
            reason = f"held by {node['held_by']}: {reason}".rstrip(": ")
        table.add_row(
            *(
                Text(printable(cell))
                for cell in (
                    node["name"],
                    node["state"],
                    ", ".join(node["labels"]),
                    ", ".join(node["builds"]),
                    reason,
                )
            )
        )
    return table


def _render_reports(section: dict[str, Any], console: Console, now: datetime) -> None:
    pending, failed = section["pending"], section["failed"]
    console.print(
        f"{section['pending_count']} report(s) waiting to be delivered, "
        f"{section['failed_count']} given up in the last 24h",
        highlight=False,
    )
    if pending:
        shown = f" (the {len(pending)} oldest)" if len(pending) < section["pending_count"] else ""
        table = _reports_table("reports waiting" + shown, "queued", "last error", "next attempt")
        for report in pending:
            _report_row(table, report, report["queued_at"], now, _next_attempt(report, now))
        console.print(table)
    if failed:
        shown = f" (the {len(failed)} latest)" if len(failed) < section["failed_count"] else ""
        table = _reports_table("reports given up" + shown, "given up", "why")
        for report in failed:
            _report_row(table, report, report["finished_at"] or report["queued_at"], now)
        console.print(table)


def _reports_table(title: str, since: str, detail: str, *more: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("change", "to", "attempts", since, *more):
        table.add_column(column, no_wrap=True)
    table.add_column(detail, overflow="fold")
    return table


def _report_row(
    table: Table, report: dict[str, Any], moment: str, now: datetime, *more: str
) -> None:
    destination = report["destination"]
    cells = (
        _change(report),
        "results service" if destination == RESULTS_SERVICE else destination,
        str(report["attempts"]),
        f"{_since(moment, now)} ago",
        *more,
        report["detail"] or "",
    )
    table.add_row(*(Text(printable(cell)) for cell in cells))


def _next_attempt(report: dict[str, Any], now: datetime) -> str:
    """Whether the report is being sent, or when it is tried again: nothing before its
    first attempt, nor from a server from before (its answer has no next_attempt_at).
    A report to a destination no longer configured waits for it, whatever its row says
    (`sending` when serve stopped mid-attempt)."""
    if report.get("destination_configured") is False:
        return "destination not configured"
    if report["state"] == "sending":
        return f"sending (attempt {report['attempts']})"
    if "next_attempt_at" not in report or not report["attempts"]:
        return ""
    due = report["next_attempt_at"]
    wait = (_parse(due) - now).total_seconds() if due else 0.0
    # A retry due within the second is as good as due: "in 0s" would read as stuck.
    return f"in {format_duration(wait)}" if wait >= 1 else "now"


def _pipeline_tree(pipeline: dict[str, Any], now: datetime, *, qualified: bool = False) -> Tree:
    items = pipeline["items"]
    manager = pipeline["manager"] or "no longer configured"
    count = f"{len(items)} item(s)" if items else "empty"
    tree = Tree(Text.assemble((pipeline["name"], "bold"), f" ({manager}): {count}"))
    for item in items:
        branch = tree.add(
            Text.assemble(
                printable(
                    f"item {item['id']}  {_change(item, qualified)}  "
                    f"{item['project']} ({item['branch']})  "
                ),
                _state(item["state"]),
                printable(f"  {_since(item['enqueued_at'], now)} ago  {item['why']}"),
            )
        )
        width = max((len(_job(b)) for b in item["builds"]), default=0)
        for build in item["builds"]:
            branch.add(_build_line(build, width, now))
    return tree


def _build_line(build: dict[str, Any], width: int, now: datetime) -> Text:
    parts = [
        build["node"] or "",
        _build_time(build, now),
        build["log_url"] or build["detail"] or "",
    ]
    state = _state(build["result"] or build["state"])
    if build.get("source_away"):  # a server from before has no such key
        state.append(" (Gerrit away)")
    return Text.assemble(
        f"{_job(build):<{width}}  ", state, printable("  " + "  ".join(p for p in parts if p))
    )


def _job(build: dict[str, Any]) -> str:
    """The job, and the attempt when it is a retry."""
    return str(build["job"]) + (f" #{build['attempt']}" if build["attempt"] > 1 else "")


def _running_table(running: list[dict[str, Any]], now: datetime) -> Table:
    table = Table(title="running builds", title_justify="left")
    for column in ("job", "change", "pipeline", "node", "running for"):
        table.add_column(column, no_wrap=True)
    table.add_column("logs", overflow="fold")
    # A server from before consoles has no console_url.
    consoles = any(build.get("console_url") for build in running)
    if consoles:
        table.add_column("console (followed live)", overflow="fold")
    for build in running:
        # Text cells: a value is never read as rich markup.
        cells = (
            _job(build),
            _change(build),
            build["pipeline"],
            build["node"] or "",
            _since(build["started_at"], now) if build["started_at"] else "",
            build["log_url"] or "",
            *((build.get("console_url") or "",) if consoles else ()),
        )
        table.add_row(*(Text(printable(cell)) for cell in cells))
    return table


def _change(entry: dict[str, Any], qualified: bool = False) -> str:
    if entry["change"] is None:
        return "-"
    change = f"{entry['change']},{entry['patchset']}"
    return f"{entry['connection']}:{change}" if qualified and entry.get("connection") else change


def _state(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, "red" if state.isupper() else ""))


def _build_time(build: dict[str, Any], now: datetime) -> str:
    started = build["started_at"]
    retry = build.get("not_before")
    if started is None and retry and _parse(retry) > now:
        return f"retry in {format_duration((_parse(retry) - now).total_seconds())}"
    if started is None:
        return ""
    end = _parse(build["finished_at"]) if build["finished_at"] else now
    return format_duration((end - _parse(started)).total_seconds())


def _since(moment: str, now: datetime) -> str:
    return format_duration((now - _parse(moment)).total_seconds())


def _parse(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
