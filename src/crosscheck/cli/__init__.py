"""The `crosscheck` command."""

from __future__ import annotations

import logging
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler

from crosscheck import __version__
from crosscheck.cli.config import config_group
from crosscheck.cli.sandbox import sandbox
from crosscheck.errors import CrosscheckError

err_console = Console(stderr=True)


class CrosscheckGroup(click.Group):
    """Prints crosscheck's own errors as one clear message instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CrosscheckError as error:
            raise click.ClickException(str(error)) from error


@click.group(
    cls=CrosscheckGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="crosscheck")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Third-party CI for Gerrit.

    crosscheck listens to a Gerrit server, runs jobs on hardware you own, reports
    results back as a vote and one clear message, and keeps every result as
    structured data.

    Start with `crosscheck sandbox up`: a real local Gerrit to try it on.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )


main.add_command(config_group)
main.add_command(sandbox)

__all__ = ["main"]
