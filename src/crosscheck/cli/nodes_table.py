"""What `crosscheck nodes` prints: a table of the nodes and one of the autohold requests,
read from the nodes API's JSON. Colours only on a terminal (rich decides)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crosscheck.errors import printable
from crosscheck.nodes.spans import span

STATE_STYLES = {
    "ready": "green",
    "in-use": "cyan",
    "held": "yellow",
    "drained": "magenta",
    "unhealthy": "red",
    "cleaning": "blue",
    "unchecked": "dim",
}


def render(data: dict[str, Any], console: Console, now: datetime) -> None:
    console.print(nodes_table(data["nodes"], now))
    requests = data["autoholds"]
    if requests:
        console.print(autoholds_table(requests))
    else:
        console.print("no autohold request", highlight=False)


def nodes_table(nodes: list[dict[str, Any]], now: datetime) -> Table:
    table = Table(title="nodes", title_justify="left")
    for column in ("name", "state", "labels", "pod", "builds"):
        table.add_column(column, no_wrap=True)
    for column in ("reason", "held by", "why", "until"):
        table.add_column(column, overflow="fold")
    for node in nodes:
        held = node["held_by"] is not None
        # Text cells: a value is never read as rich markup.
        table.add_row(
            Text(printable(node["name"])),
            state_text(node),
            Text(printable(", ".join(node["labels"]))),
            Text(printable(node["pod"] or "")),
            Text("\n".join(printable(build) for build in node["builds"])),
            Text(printable(node["reason"])),
            Text(printable(node["held_by"] or "")),
            Text(printable(node["hold_reason"]) if held else ""),
            Text(until(node["hold_until"], now) if held else ""),
        )
    return table


def state_text(node: dict[str, Any]) -> Text:
    state = node["state"]
    # The state names one thing; a drain under a hold or a build would be lost in it.
    shown = f"{state} (drained)" if node["drained"] and state != "drained" else state
    return Text(shown, style=STATE_STYLES.get(state, ""))


def until(moment: str | None, now: datetime) -> str:
    if moment is None:
        return "released"
    when = parse(moment)
    return f"{when:%Y-%m-%d %H:%M} UTC (in {span((when - now).total_seconds())})"


def autoholds_table(requests: list[dict[str, Any]]) -> Table:
    table = Table(title="autohold requests", title_justify="left")
    for column in ("id", "job", "project", "change", "left", "held for", "by", "since"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for request in requests:
        cells = (
            str(request["id"]),
            request["job"],
            request["project"] or "any",
            str(request["change"] or "any"),
            str(request["remaining"]),
            span(request["hold_for"]),
            request["created_by"],
            f"{parse(request['created_at']):%Y-%m-%d %H:%M} UTC",
            request["reason"],
        )
        table.add_row(*(Text(printable(cell)) for cell in cells))
    return table


def parse(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
