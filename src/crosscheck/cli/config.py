"""`crosscheck config`: check a configuration like a compiler, show it resolved."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import click
import yaml
from rich.console import Console
from rich.markup import escape

from crosscheck.config import LoadResult, load_config
from crosscheck.config.issues import ConfigIssue, did_you_mean
from crosscheck.config.show import elements
from crosscheck.paths import default_config_paths

console = Console(highlight=False)

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
    console.print(
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


#: Elements dumped at once: output starts at once and memory holds a chunk, while a
#: dumper made per element costs more than the dumping.
_YAML_CHUNK = 256


def _write_yaml(chosen: Iterable[Any], out: TextIO) -> None:
    """A chunk at a time: each chunk is `- ` items at column 0, so together one list."""
    # libyaml's emitter: the pure-Python one takes seconds for thousands of jobs.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    remaining = iter(chosen)
    written = False
    while chunk := list(itertools.islice(remaining, _YAML_CHUNK)):
        out.write(yaml.dump(chunk, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100))
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
    for issue in result.errors:
        _print_issue(issue, "red")
    for issue in result.warnings:
        _print_issue(issue, "yellow")


def _print_issue(issue: ConfigIssue, colour: str) -> None:
    where = escape(f"{issue.position}: ") if issue.position else ""
    hint = escape(f" — {issue.hint}") if issue.hint else ""
    console.print(
        f"{where}[{colour}]{issue.severity.value}[/]: {escape(issue.message)}{hint}",
        markup=True,
        soft_wrap=True,
    )
