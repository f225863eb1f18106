"""The `crosscheck` command."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click
from click.exceptions import NoSuchCommand

from crosscheck import __version__
from crosscheck.cli.logs import LogFormat, configure, level_for, log_options
from crosscheck.errors import CrosscheckError

#: Subcommands, imported only when used: `config check` need not load SSH and crypto.
SUBCOMMANDS = {
    "candidate": "crosscheck.cli.candidate:candidate",
    "checks": "crosscheck.cli.checks:checks",
    "config": "crosscheck.cli.config:config_group",
    "console": "crosscheck.cli.console:console",
    "dequeue": "crosscheck.cli.operator:dequeue",
    "enqueue": "crosscheck.cli.operator:enqueue",
    "nodes": "crosscheck.cli.nodes:nodes",
    "run": "crosscheck.cli.run:run",
    "sandbox": "crosscheck.cli.sandbox:sandbox",
    "promotion": "crosscheck.cli.promotion:promotion",
    "release": "crosscheck.cli.release:release",
    "report": "crosscheck.cli.report:report",
    "results": "crosscheck.cli.results:results",
    "serve": "crosscheck.cli.serve:serve",
    "status": "crosscheck.cli.status:status",
}


class CrosscheckGroup(click.Group):
    """Loads subcommands lazily; prints crosscheck's errors as one message, no traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except NoSuchCommand as error:  # click suggests from loaded commands only
            raise NoSuchCommand(error.command_name, possibilities=SUBCOMMANDS, ctx=ctx) from None

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
@log_options(env=True)
def main(verbose: int, quiet: int, log_format: str | None) -> None:
    """Third-party CI for Gerrit.

    crosscheck listens to a Gerrit server, runs jobs on hardware you own, reports
    results back as a vote and one clear message, and keeps every result as
    structured data.

    Start with `crosscheck sandbox up`: a real local Gerrit to try it on.
    """
    # Commands log at WARNING; `serve` and `results serve` configure again, at INFO.
    configure(level_for(logging.WARNING, verbose, quiet), LogFormat(log_format or "text"))


__all__ = ["main"]
