"""`crosscheck config`: check a configuration like a compiler, show it resolved."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
import yaml

from crosscheck.config import LoadResult, load_config
from crosscheck.config.issues import ConfigIssue, did_you_mean
from crosscheck.paths import default_config_paths

if TYPE_CHECKING:
    from rich.console import Console

PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


@click.group("config")
def config_group() -> None:
    """Check and show configurations (pipelines, jobs, templates, projects).

    PATHS are files or directories; a directory's *.yaml files are merged in sorted
    order. Without PATHS: $CROSSCHECK_CONFIG, else ./crosscheck.d, else ./crosscheck.yaml.
    """


@config_group.command()
@PATHS
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def check(paths: tuple[Path, ...], strict: bool) -> None:
    """Validate everything and list every error with file:line:column (exit 1 on errors)."""
    result = load_config(list(paths) or default_config_paths())
    _print_issues(result)
    jobs = len(result.config.jobs) if result.config else 0
    _print_line(
        f"{len(result.errors)} error(s), {len(result.warnings)} warning(s) in "
        f"{len(result.files)} file(s); {jobs} job(s)"
    )
    if result.errors or (strict and result.warnings):
        sys.exit(1)


@config_group.command()
@PATHS
@click.option("--job", default=None, metavar="NAME", help="Only this job.")
@click.option(
    "--project",
    default=None,
    metavar="NAME",
    help="Only the project entries that apply to this Gerrit project.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="YAML in the configuration's own form, or one JSON array of the same elements.",
)
def show(paths: tuple[Path, ...], job: str | None, project: str | None, output_format: str) -> None:
    """Print the configuration expanded and resolved (templates, inheritance): each job
    once, in its `job` element; projects name their jobs with what they change."""
    from crosscheck.config.show import elements  # noqa: PLC0415 - `check` needs none of it

    result = load_config(list(paths) or default_config_paths())
    if result.config is None:
        _print_issues(result)
        raise click.ClickException("the configuration has errors; see above")
    if job is not None and job not in result.config.jobs:
        hint = did_you_mean(job, result.config.jobs)
        raise click.BadParameter(
            f"no job '{job}'" + (f"; {hint}" if hint else ""), param_hint="--job"
        )
    found = elements(result.config, job=job, project=project)
    first = next(found, None)
    if project is not None and first is None:
        what = f"runs job '{job}'" if job else "applies to it"
        raise click.BadParameter(f"no project entry for '{project}' {what}", param_hint="--project")
    chosen = [] if first is None else itertools.chain([first], found)
    write = _write_json if output_format == "json" else _write_yaml
    write(chosen, sys.stdout)


#: Elements written at once: output starts at once and memory holds a chunk.
_YAML_CHUNK = 256


def _write_yaml(chosen: Iterable[Any], out: TextIO) -> None:
    """A chunk at a time: each chunk is `- ` items at column 0, so together one list."""
    from crosscheck.config.yaml_emit import UnsupportedError, Writer  # noqa: PLC0415

    writer = Writer()
    remaining = iter(chosen)
    written = False
    while chunk := list(itertools.islice(remaining, _YAML_CHUNK)):
        try:
            out.write(writer.items(chunk))
        except UnsupportedError:  # libyaml's emitter: the pure-Python one is slow
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            out.write(yaml.dump(chunk, Dumper=dumper, sort_keys=False, allow_unicode=True))
        written = True
    if not written:  # an empty configuration is still one YAML list
        out.write("[]\n")
    out.flush()


def _write_json(chosen: Iterable[Any], out: TextIO) -> None:
    out.write("[")
    for index, element in enumerate(chosen):
        out.write(",\n" if index else "\n")
        out.write(json.dumps(element, ensure_ascii=False))
    out.write("\n]\n")
    out.flush()


def _print_issues(result: LoadResult) -> None:
    terminal = _terminal()
    for issue in result.errors:
        _print_issue(terminal, issue, "red")
    for issue in result.warnings:
        _print_issue(terminal, issue, "yellow")
    if result.unchecked:
        _print_line(f"note: {result.unchecked}")


def _terminal() -> Console | None:
    """Rich's console on a terminal, for colours; elsewhere None, and plain lines.

    Rich is imported only then: it is a tenth of `config check`'s start-up.
    """
    if not sys.stdout.isatty():
        return None
    from rich.console import Console  # noqa: PLC0415

    return Console(highlight=False)


def _print_line(text: str) -> None:
    terminal = _terminal()
    if terminal is None:
        click.echo(text)
    else:
        terminal.print(text, markup=False)


def _print_issue(terminal: Console | None, issue: ConfigIssue, colour: str) -> None:
    if terminal is None:
        click.echo(str(issue))
        return
    from rich.markup import escape  # noqa: PLC0415

    where = escape(f"{issue.position}: ") if issue.position else ""
    hint = escape(f" — {issue.hint}") if issue.hint else ""
    terminal.print(
        f"{where}[{colour}]{issue.severity.value}[/]: {escape(issue.message)}{hint}",
        markup=True,
        soft_wrap=True,
    )
