"""`crosscheck nodes`: what each node of a running crosscheck serve is doing, and an
operator's hand on them (hold, release, drain, undrain, autohold), through its HTTP API.

    crosscheck nodes [list] [--json]
    crosscheck nodes hold NODE --reason TEXT [--for 2h] [--by NAME]
    crosscheck nodes release|drain|undrain NODE [--by NAME]
    crosscheck nodes autohold add --job JOB [--project P] [--change N] [--count N]
                                  [--for 24h] --reason TEXT [--by NAME]
    crosscheck nodes autohold list [--json]
    crosscheck nodes autohold delete ID
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from crosscheck.cli.nodes_table import autoholds_table, parse, render
from crosscheck.cli.serve_api import ServeApi, admin_token, token_options, url_option
from crosscheck.cli.status import output_console
from crosscheck.nodes.spans import span

#: Where the group keeps a --url given before the subcommand.
URL_KEY = "crosscheck.nodes.url"


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment: serve says "operator"
        return None


by_option = click.option(
    "--by",
    default=_login,
    show_default="your login name",
    help="Who does it, for the log and `crosscheck nodes`.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON as it is.")


@click.group(invoke_without_command=True)
@url_option
@json_option
@click.pass_context
def nodes(ctx: click.Context, url: str, as_json: bool) -> None:
    """Show the nodes (state, labels, POD, builds, why out, who holds them); with a
    subcommand, steer them. Reads need nothing; the others need the admin token.

    \b
    crosscheck nodes
    crosscheck nodes hold lab-3 --reason "firmware update" --for 2h
    crosscheck nodes autohold add --job acme-nfs --change 1042 --reason "flaky mount"
    """  # fmt: skip
    if ctx.invoked_subcommand is None:
        _list(url, as_json)
        return
    if as_json:
        raise click.UsageError("give --json after the subcommand: crosscheck nodes list --json")
    if ctx.get_parameter_source("url") is ParameterSource.COMMANDLINE:
        ctx.meta[URL_KEY] = url  # `crosscheck nodes --url U hold ...` means that server


def _server(url: str) -> str:
    """The subcommand's --url, or the group's when it was given before the subcommand."""
    ctx = click.get_current_context()
    outer: str | None = ctx.meta.get(URL_KEY)
    if outer is None:
        return url
    if ctx.get_parameter_source("url") is ParameterSource.COMMANDLINE and url != outer:
        raise click.UsageError(f"two servers given: --url {outer} and --url {url}")
    return outer


@nodes.command("list")
@url_option
@json_option
def list_nodes(url: str, as_json: bool) -> None:
    """Every node (this host's slots first), then the autohold requests."""
    _list(_server(url), as_json)


def _list(url: str, as_json: bool) -> None:
    with ServeApi(url) as api:
        data = api.nodes()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    render(data, output_console(), datetime.now(UTC))


@nodes.command()
@click.argument("node")
@click.option("--reason", required=True, help="Why: operators read it in `crosscheck nodes`.")
@click.option(
    "--for",
    "hold_for",
    metavar="DURATION",
    help="How long: seconds, or '2h', '1d12h', '90m' [default: until released].",
)
@by_option
@url_option
@token_options
def hold(
    node: str,
    reason: str,
    hold_for: str | None,
    by: str | None,
    url: str,
    token_file: Path | None,
    token_env: str | None,
) -> None:
    """Take NODE out of rotation: it finishes its builds and takes no new one until
    released, or until --for has passed."""
    body = _without_none(reason=reason, by=by, **{"for": _duration(hold_for)})
    shown = _act(node, "hold", body, url, token_file, token_env)
    click.echo(f"{node} held by {shown['held_by']} {_until(shown)}: {shown['hold_reason']}")


@nodes.command()
@click.argument("node")
@by_option
@url_option
@token_options
def release(
    node: str, by: str | None, url: str, token_file: Path | None, token_env: str | None
) -> None:
    """Put a held NODE back in rotation; a work directory an autohold kept on it is
    removed first."""
    shown = _act(node, "release", _without_none(by=by), url, token_file, token_env)
    click.echo(f"{node} released (now {shown['state']})")


@nodes.command()
@click.argument("node")
@by_option
@url_option
@token_options
def drain(
    node: str, by: str | None, url: str, token_file: Path | None, token_env: str | None
) -> None:
    """Let NODE finish its builds and take no new one, until undrained."""
    shown = _act(node, "drain", _without_none(by=by), url, token_file, token_env)
    running = len(shown["builds"])
    click.echo(
        f"{node} drained: it finishes its {running} build(s) and takes no new one"
        if running
        else f"{node} drained: it takes no new build"
    )


@nodes.command()
@click.argument("node")
@by_option
@url_option
@token_options
def undrain(
    node: str, by: str | None, url: str, token_file: Path | None, token_env: str | None
) -> None:
    """Let a drained NODE take builds again."""
    shown = _act(node, "undrain", _without_none(by=by), url, token_file, token_env)
    click.echo(f"{node} undrained (now {shown['state']})")


def _act(
    node: str,
    action: str,
    body: dict[str, Any],
    url: str,
    token_file: Path | None,
    token_env: str | None,
) -> dict[str, Any]:
    with ServeApi(_server(url), admin_token(token_file, token_env)) as api:
        shown: dict[str, Any] = api.node_action(node, action, body)
    return shown


def _until(node: dict[str, Any]) -> str:
    if node["hold_until"] is None:
        return "until released"
    return f"until {parse(node['hold_until']):%Y-%m-%d %H:%M:%S} UTC"


@nodes.group()
def autohold() -> None:
    """Keep the node of a job's next failed build(s), with its work directory, for
    debugging: `add`, `list`, `delete`."""


@autohold.command("add")
@click.option("--job", required=True, help="The job whose failed builds to hold.")
@click.option("--project", help="Only builds of this project [default: any].")
@click.option("--change", type=click.IntRange(min=1), help="Only this change [default: any].")
@click.option(
    "--count",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="How many failed builds to hold, one node (or POD) each.",
)
@click.option(
    "--for",
    "hold_for",
    metavar="DURATION",
    default="24h",
    show_default=True,
    help="How long each held node stays held (at most 30d).",
)
@click.option("--reason", required=True, help="Why: it becomes each held node's reason.")
@by_option
@url_option
@token_options
def add_autohold(
    job: str,
    project: str | None,
    change: int | None,
    count: int,
    hold_for: str,
    reason: str,
    by: str | None,
    url: str,
    token_file: Path | None,
    token_env: str | None,
) -> None:
    """Ask that the next failed build(s) of JOB keep their node."""
    body = _without_none(job=job, project=project, change=change, count=count, reason=reason, by=by)
    body["for"] = _duration(hold_for)
    with ServeApi(_server(url), admin_token(token_file, token_env)) as api:
        made = api.add_autohold(body)
    where = ", ".join(
        f"{what} {made[what]}" for what in ("project", "change") if made[what] is not None
    )
    click.echo(
        f"autohold {made['id']}: the next {made['remaining']} failed build(s) of "
        f"{made['job']}{f' ({where})' if where else ''} keep their node for "
        f"{span(made['hold_for'])}"
    )


@autohold.command("list")
@url_option
@json_option
def list_autoholds(url: str, as_json: bool) -> None:
    """The autohold requests, oldest first (the order failed builds claim them in)."""
    with ServeApi(_server(url)) as api:
        requests = api.autoholds()["autoholds"]
    if as_json:
        click.echo(json.dumps(requests, indent=2))
    elif requests:
        output_console().print(autoholds_table(requests))
    else:
        click.echo("no autohold request")


@autohold.command("delete")
@click.argument("autohold_id", metavar="ID", type=click.IntRange(min=1))
@url_option
@token_options
def delete_autohold(
    autohold_id: int, url: str, token_file: Path | None, token_env: str | None
) -> None:
    """Withdraw autohold request ID; nodes it already holds stay held until released."""
    with ServeApi(_server(url), admin_token(token_file, token_env)) as api:
        gone = api.delete_autohold(autohold_id)
    click.echo(f"deleted autohold {gone['id']} ({gone['job']}, {gone['remaining']} left)")


def _duration(text: str | None) -> str | int | None:
    """Seconds go as a number: the API reads a text as '2h', '1d12h', '90m'."""
    return int(text) if text is not None and text.strip().isdigit() else text


def _without_none(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
