"""`crosscheck sandbox`: a real local Gerrit to try crosscheck on and to test against."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import sys
from pathlib import Path

import click
from rich.console import Console

from crosscheck.cli.sandbox_demo import demo, stop_demo_serve
from crosscheck.errors import CrosscheckError
from crosscheck.paths import default_sandbox_dir
from crosscheck.sandbox.gerrit import PushedChange, Sandbox, SandboxRepo, SandboxStatus
from crosscheck.sandbox.gerrit.distribution import ensure_distribution
from crosscheck.sandbox.gerrit.manager import info, ssh_command
from crosscheck.sandbox.gerrit.state import SandboxState, check_project_name

err_console = Console(stderr=True, log_path=False)

#: LSB's "program is not running" status code, as `systemctl status` uses it.
EXIT_NOT_RUNNING = 3
HEAP = re.compile(r"^\d+[kKmMgG]$")


def _project_names(
    _: click.Context, __: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    try:
        return tuple(check_project_name(value) for value in values)
    except CrosscheckError as error:
        raise click.BadParameter(str(error)) from error


def _heap(_: click.Context, __: click.Parameter, value: str) -> str:
    if not HEAP.match(value):
        raise click.BadParameter(f"{value!r} is not a Java heap size such as 768m or 2g")
    return value


@click.group()
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CROSSCHECK_SANDBOX_DIR",
    show_envvar=True,
    help="Where the sandbox keeps its Gerrit site and credentials "
    f"[default: {default_sandbox_dir()}].",
)
@click.pass_context
def sandbox(ctx: click.Context, state_dir: Path | None) -> None:
    """A real Gerrit on this machine, for trying crosscheck and for its tests.

    It runs Gerrit 3.10 from Maven Central on 127.0.0.1 with an admin, a CI service
    account (SSH key and HTTP password), a project and a Verified label. Gerrit runs
    headless: REST, SSH and git work; there is no web UI.
    """
    ctx.obj = Sandbox(state_dir)


@sandbox.command()
@click.option("--http-port", type=click.IntRange(1, 65535), help="HTTP port [default: a free one].")
@click.option("--ssh-port", type=click.IntRange(1, 65535), help="SSH port [default: a free one].")
@click.option(
    "--project",
    "projects",
    multiple=True,
    metavar="NAME",
    callback=_project_names,
    help="Also create this project (repeatable). `sandbox/ci-sandbox` always exists.",
)
@click.option(
    "--heap",
    default="768m",
    show_default=True,
    callback=_heap,
    help="Java heap for Gerrit, used when it starts.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for Gerrit to become ready.",
)
@click.pass_context
def up(
    ctx: click.Context,
    http_port: int | None,
    ssh_port: int | None,
    projects: tuple[str, ...],
    heap: str,
    timeout: float,
) -> None:
    """Create (or reuse) the sandbox, start Gerrit and set it up; idempotent."""
    box: Sandbox = ctx.obj
    with err_console.status("preparing the sandbox") as spinner:
        phase = ["preparing the sandbox"]

        def report(message: str) -> None:
            phase[0] = message
            spinner.update(message)
            err_console.log(message)

        def tick(elapsed: float) -> None:
            spinner.update(f"{phase[0]} ({elapsed:.0f}s)")

        result = asyncio.run(
            box.up(
                http_port=http_port,
                ssh_port=ssh_port,
                projects=projects,
                heap=heap,
                timeout=timeout,
                report=report,
                tick=tick,
            )
        )
    state = result.state
    if result.started:
        click.echo(f"Sandbox Gerrit {state.gerrit_version} started in {result.seconds:.1f}s.")
    else:
        click.echo(
            f"Sandbox Gerrit {state.gerrit_version} was already running "
            f"(checked in {result.seconds:.1f}s)."
        )
        if ctx.get_parameter_source("heap") is click.core.ParameterSource.COMMANDLINE:
            click.echo(f"--heap applies when Gerrit starts: `{state.command('down')}` first.")
    _print_endpoints(state)
    click.echo(f"\nA crosscheck connection for it is in {state.connection_file}:")
    click.echo(state.connection_file.read_text(), nl=False)


@sandbox.command()
@click.pass_obj
def fetch(box: Sandbox) -> None:
    """Download Gerrit into the cache now (`up` does it when needed)."""
    dist = ensure_distribution(box.cache, err_console.log)
    click.echo(f"Gerrit {dist.version} ready in {dist.root}")


@sandbox.command()
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds to wait for a clean shutdown before killing Gerrit.",
)
@click.pass_obj
def down(box: Sandbox, timeout: float) -> None:
    """Stop the demo's crosscheck serve, if any, and the sandbox Gerrit; the site and
    accounts are kept for the next `up`."""
    serve = stop_demo_serve(box)
    if serve is not None:
        click.echo(f"The demo's crosscheck serve (pid {serve}) stopped.")
    if box.down(timeout):
        click.echo("Sandbox Gerrit stopped.")
    else:
        click.echo("Sandbox Gerrit was not running.")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help='Print {"status": ...} as JSON.')
@click.pass_obj
def status(box: Sandbox, as_json: bool) -> None:
    """Say whether the sandbox runs (exit 0) or not (exit 3)."""
    current = asyncio.run(box.status())
    if as_json:
        click.echo(json.dumps({"status": current.value}))
    else:
        click.echo(f"Sandbox in {box.state_dir}: {current.value}")
        if current is SandboxStatus.RUNNING:
            _print_endpoints(box.load())
        elif current is not SandboxStatus.STARTING:
            up_command = (
                box.load().command("up")
                if current is not SandboxStatus.ABSENT
                else f"crosscheck sandbox --state-dir {box.state_dir} up"
            )
            click.echo(f"Start it with `{up_command}`.")
    if current is not SandboxStatus.RUNNING:
        sys.exit(EXIT_NOT_RUNNING)


@sandbox.command("info")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Machine-readable, credentials included (for scripts and tests).",
)
@click.pass_obj
def info_command(box: Sandbox, as_json: bool) -> None:
    """Print the sandbox's endpoints, accounts and files."""
    state = box.load()
    current = asyncio.run(box.status())
    if as_json:
        click.echo(json.dumps(info(state, current), indent=2))
        return
    click.echo(f"status       {current.value}")
    _print_endpoints(state)
    click.echo(f"site         {state.site_dir}")
    click.echo(f"Gerrit log   {state.log_file}")


@sandbox.command()
@click.option("--project", default=None, help="Project to push to [default: the sandbox's first].")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Push HEAD of your clone of the project (`git clone URL` first) "
    "[default: a new commit in a scratch clone].",
)
@click.option("--branch", default="master", show_default=True, help="Branch the change is for.")
@click.option(
    "--subject",
    default="Sample change from crosscheck sandbox push",
    show_default=True,
    help="Commit subject, for the scratch clone.",
)
@click.option(
    "--file",
    "files",
    multiple=True,
    metavar="PATH=CONTENT",
    help="Write this file in the commit (repeatable), for the scratch clone.",
)
@click.option("--topic", default=None, help="Gerrit topic of the change.")
@click.option("--wip", is_flag=True, help="Push as work in progress.")
@click.option("--json", "as_json", is_flag=True, help="Print the pushed change as JSON.")
@click.pass_obj
def push(
    box: Sandbox,
    project: str | None,
    workdir: Path | None,
    branch: str,
    subject: str,
    files: tuple[str, ...],
    topic: str | None,
    wip: bool,
    as_json: bool,
) -> None:
    """Push a change for review to a sandbox project (a Change-Id is added if missing)."""
    contents = _parse_files(files)
    if workdir is not None and contents:
        raise click.UsageError(
            "--file writes into the scratch clone; with --dir, commit your "
            "files yourself and push the commit"
        )
    state = box.load()
    current = asyncio.run(box.status())
    if current is not SandboxStatus.RUNNING:
        raise click.ClickException(f"the sandbox is {current.value}: `{state.command('up')}`")
    target = project if project is not None else state.projects[0]
    if target not in state.projects:
        raise click.BadParameter(
            f"no project {target!r} in this sandbox (it has: {', '.join(state.projects)}); "
            f"add it with `{state.command('up', '--project', target)}`",
            param_hint="--project",
        )
    pushed = asyncio.run(_push(state, target, workdir, branch, subject, contents, topic, wip))
    if as_json:
        data = {
            **dataclasses.asdict(pushed),
            "ref": pushed.ref,
            "rest_url": state.rest_url(pushed.project, pushed.number),
        }
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(
            f"Pushed change {pushed.number}, patchset {pushed.patchset}, "
            f"to {pushed.project} {pushed.branch}."
        )
        click.echo(f"See it at {state.rest_url(pushed.project, pushed.number)}")


async def _push(
    state: SandboxState,
    project: str,
    workdir: Path | None,
    branch: str,
    subject: str,
    files: dict[str, str],
    topic: str | None,
    wip: bool,
) -> PushedChange:
    if workdir is not None:
        repo = await SandboxRepo(state, project, workdir).open(clone=False)
        return await repo.push_head(branch=branch, topic=topic, wip=wip)
    repo = await SandboxRepo(state, project, state.state_dir / "work" / project).open()
    files = files or {"README.sandbox": f"{subject}\n"}
    return await repo.push_change(files, subject, branch=branch, topic=topic, wip=wip)


sandbox.add_command(demo)


def _parse_files(specs: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for spec in specs:
        name, sep, content = spec.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{spec!r} is not PATH=CONTENT", param_hint="--file")
        parsed[name] = content + ("" if content.endswith("\n") else "\n")
    return parsed


def _print_endpoints(state: SandboxState) -> None:
    """Plain lines, never wrapped, so each can be copied as it is."""
    click.echo(f"REST API     {state.http_url}  (headless: no web UI)")
    click.echo(f"git          {state.http_url}<project>  (anonymous clone)")
    click.echo(f"ssh          {ssh_command(state)}")
    click.echo(f"projects     {', '.join(state.projects)}")
    click.echo(
        f"credentials  {state.state_dir / 'sandbox.json'}  (or `{state.command('info', '--json')}`)"
    )
