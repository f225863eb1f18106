"""`crosscheck checks plugin`: write the Gerrit Checks tab plugin for a results service."""

from __future__ import annotations

from pathlib import Path

import click

from crosscheck.checks import PLUGIN_FILE, PluginConfig, plugin_source
from crosscheck.checks.plugin import DEFAULT_POLL_SECONDS
from crosscheck.config.secrets import read_secret
from crosscheck.model.checks import service_url_problem
from crosscheck.paths import write_private


@click.group("checks")
def checks() -> None:
    """Gerrit's Checks tab: every CI's results on the change, from the results service."""


@checks.command()
@click.option(
    "--results-url",
    required=True,
    metavar="URL",
    help="The results service's address as browsers reach it, e.g. https://ci.example.org.",
)
@click.option("--read-token-env", metavar="VAR", help="Private reads: the read token is in $VAR.")
@click.option(
    "--read-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private reads: the read token is in this file.",
)
@click.option(
    "--poll-seconds",
    type=click.IntRange(min=5, max=3600),
    default=DEFAULT_POLL_SECONDS,
    show_default=True,
    help="How often the tab asks again while a change is on screen.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Write here, e.g. $GERRIT_SITE/plugins/{PLUGIN_FILE} [default: standard output].",
)
def plugin(
    results_url: str,
    read_token_env: str | None,
    read_token_file: Path | None,
    poll_seconds: int,
    output: Path | None,
) -> None:
    """Write the plugin file a Gerrit site loads from its plugins/ directory.

    The service serves the same file, without a token, at /plugins/crosscheck-checks.js.
    """
    base = results_url.rstrip("/")
    problem = service_url_problem(base)
    if problem:
        raise click.BadParameter(problem, param_hint="--results-url")
    if read_token_env and read_token_file:
        raise click.UsageError("give --read-token-env or --read-token-file, not both")
    token = read_secret("the read token", read_token_env, read_token_file)
    text = plugin_source(PluginConfig(base, read_token=token, poll_seconds=poll_seconds))
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text, private=token is not None)
        click.echo(f"wrote {output}: copy it into a Gerrit site's plugins/ directory", err=True)
    if token:
        click.echo(
            "note: the file holds the read token; whoever loads this Gerrit's UI can read it, "
            "and with it only read results",
            err=True,
        )


def _write(output: Path, text: str, *, private: bool) -> None:
    """With a token the file is the owner's alone until it is copied where Gerrit reads it."""
    if not output.parent.is_dir():
        raise click.BadParameter(f"{output.parent} is not a directory", param_hint="--output")
    try:
        if private:
            write_private(output, text)
        else:
            output.write_text(text, encoding="utf-8")
    except OSError as error:
        why = f"cannot write {output}: {error.strerror}"
        raise click.BadParameter(why, param_hint="--output") from None
