"""Option parsers shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def parse_change(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int, int | None] | None:
    """`N` or `N,P` (Gerrit's and Zuul's way of naming a patchset) -> (N, P or None)."""
    if value is None:
        return None
    number, _, patchset = value.partition(",")
    try:
        parsed = int(number), int(patchset) if patchset else None
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give a change number, or number,patchset (e.g. 1042 or 1042,3)"
        ) from None
    if parsed[0] < 1 or (parsed[1] is not None and parsed[1] < 1):
        raise click.BadParameter(f"{value!r}: change and patchset numbers start at 1")
    return parsed


def change_option(*, required: bool, patchset_default: str) -> Callable[[F], F]:
    """`--change N[,P]`, parsed to (N, P or None); `patchset_default` says what P is when
    left out."""
    return click.option(
        "--change",
        "change",
        callback=parse_change,
        required=required,
        metavar="N[,P]",
        help=f"The change, and its patchset [default: {patchset_default}].",
    )


#: `-c/--config`, repeatable: what `serve` runs on and what other commands read.
config_option = click.option(
    "-c",
    "--config",
    "config_paths",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Configuration file or directory (repeatable) [default: $CROSSCHECK_CONFIG, "
    "./crosscheck.d, ./crosscheck.yaml].",
)

#: `--database`: the store `serve` writes to, and commands read.
database_option = click.option(
    "--database",
    envvar="CROSSCHECK_DATABASE_URL",
    help="SQLAlchemy URL [default: SQLite in the state directory]; "
    "e.g. postgresql+asyncpg://ci@db/crosscheck.",
)


def server_and_token(server_help: str, token_help: str) -> Callable[[F], F]:
    """`--server` (or $CROSSCHECK_RESULTS_URL), `--token-file` and `--token-env`: how a
    client of a results service (or serve's API) says where it is and who calls."""

    def decorate(function: F) -> F:
        for option in reversed(
            (
                click.option(
                    "--server",
                    envvar="CROSSCHECK_RESULTS_URL",
                    show_envvar=True,
                    required=True,
                    help=server_help,
                ),
                click.option(
                    "--token-file",
                    type=click.Path(dir_okay=False, path_type=Path),
                    help=token_help,
                ),
                click.option(
                    "--token-env",
                    metavar="VAR",
                    default="CROSSCHECK_RESULTS_TOKEN",
                    show_default=True,
                    help="Else the environment variable holding the token.",
                ),
            )
        ):
            function = option(function)
        return function

    return decorate
