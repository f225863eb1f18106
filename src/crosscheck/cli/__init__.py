"""The `crosscheck` command."""

from __future__ import annotations

import gc
import importlib
import logging
import sys
from typing import Any

import click
from click.exceptions import NoSuchCommand

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
        command: click.Command = getattr(_imported(module_name), attribute)
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
            failed = click.ClickException(str(error))
            # An error may say how to exit (`crosscheck report`: 3 is "send it again");
            # click reads the status from the instance.
            failed.exit_code = getattr(error, "exit_code", 1)  # type: ignore[misc]
            raise failed from error


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """click's `version_option`, with the version looked up only when asked for."""
    if not value or ctx.resilient_parsing:
        return
    from crosscheck import __version__  # noqa: PLC0415

    click.echo(f"crosscheck, version {__version__}", color=ctx.color)
    ctx.exit()


def _imported(module_name: str) -> Any:
    """A command's module. Imported the first time with the cyclic garbage collector
    paused, and what the import made left out of its later passes (`gc.freeze`): imports
    make tens of thousands of long-lived objects and next to no garbage, and passes over
    them all would be a good part of a short command's time."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(module_name)
        gc.freeze()
        return module
    finally:
        if was_enabled:
            gc.enable()


@click.group(
    cls=CrosscheckGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
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
