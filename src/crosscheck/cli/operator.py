"""`crosscheck enqueue` and `crosscheck dequeue`: an operator's hand on the queues of a
running crosscheck serve, through its HTTP API and the admin token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crosscheck.cli.options import change_option
from crosscheck.cli.serve_api import ServeApi, admin_token, token_options, url_option
from crosscheck.model.states import BuildState

Change = tuple[int, int | None]


@click.command()
@click.option("--pipeline", required=True, help="The pipeline to queue the change in.")
@change_option(required=True, patchset_default="the current one")
@click.option("--connection", help="The Gerrit connection [default: the pipeline's only one].")
@click.option("--project", help="The change's project [default: read from Gerrit].")
@url_option
@token_options
def enqueue(
    pipeline: str,
    change: Change,
    connection: str | None,
    project: str | None,
    url: str,
    token_file: Path | None,
    token_env: str | None,
) -> None:
    """Queue a change in a pipeline as if one of its triggers had matched.

    The item then runs its jobs and gets one report, as any other. Trigger rules
    and WIP/private skips do not apply: the operator asked for it.

    \b
    crosscheck enqueue --pipeline check --change 1042
    crosscheck enqueue --pipeline check --change 1042,3 --connection review
    """  # fmt: skip
    number, patchset = change
    body = _without_none(
        pipeline=pipeline, change=number, patchset=patchset, connection=connection, project=project
    )
    with ServeApi(url, admin_token(token_file, token_env)) as api:
        item = api.enqueue(body)["item"]
    click.echo(
        f"enqueued {_describe(item)} ({item['project']}, {item['branch']}) as item {item['id']}"
    )


@click.command()
@click.option("--item", "item_id", type=click.IntRange(min=1), help="The item's id.")
@click.option("--pipeline", help="The pipeline the change is queued in.")
@change_option(required=False, patchset_default="every queued patchset")
@click.option("--connection", help="The Gerrit connection [default: any].")
@url_option
@token_options
def dequeue(
    item_id: int | None,
    pipeline: str | None,
    change: Change | None,
    connection: str | None,
    url: str,
    token_file: Path | None,
    token_env: str | None,
) -> None:
    """End queued items without a report; their running builds are canceled.

    Name the item (`crosscheck status` shows ids), or the pipeline and the change.

    \b
    crosscheck dequeue --item 17
    crosscheck dequeue --pipeline check --change 1042
    """  # fmt: skip
    body = _dequeue_body(item_id, pipeline, change, connection)
    with ServeApi(url, admin_token(token_file, token_env)) as api:
        items = api.dequeue(body)["dequeued"]
    for item in items:
        canceled = sorted({b["job"] for b in item["builds"] if b["state"] == BuildState.CANCELED})
        click.echo(
            f"dequeued item {item['id']}: {_describe(item)}"
            + (f"; canceled: {', '.join(canceled)}" if canceled else "")
        )


def _dequeue_body(
    item_id: int | None, pipeline: str | None, change: Change | None, connection: str | None
) -> dict[str, Any]:
    if item_id is not None:
        if pipeline or change or connection:
            raise click.UsageError("give --item alone, or --pipeline and --change")
        return {"item": item_id}
    if pipeline is None or change is None:
        raise click.UsageError("give --item ID, or --pipeline and --change")
    number, patchset = change
    return _without_none(pipeline=pipeline, change=number, patchset=patchset, connection=connection)


def _without_none(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _describe(item: dict[str, Any]) -> str:
    where = f" in {item['pipeline']}"
    if item["change"] is None:
        return f"{item['project']} {item['branch']}{where}"
    return f"change {item['change']},{item['patchset']}{where}"
