"""`crosscheck sandbox`: a real local Gerrit to try crosscheck on and to test against."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from crosscheck.drivers.gerrit.sandbox import PushedChange, Sandbox, SandboxRepo, SandboxStatus
from crosscheck.drivers.gerrit.sandbox.distribution import ensure_distribution
from crosscheck.drivers.gerrit.sandbox.manager import connection_config, info
from crosscheck.drivers.gerrit.sandbox.state import SandboxState
from crosscheck.paths import default_sandbox_dir

console = Console()
err_console = Console(stderr=True, log_path=False)

#: LSB's "program is not running" status code, as `systemctl status` uses it.
EXIT_NOT_RUNNING = 3


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
    account (SSH key and HTTP password), a project and a Verified label.
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
    help="Also create this project (repeatable). `sandbox/ci-sandbox` always exists.",
)
@click.option("--heap", default="768m", show_default=True, help="Java heap for Gerrit.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for Gerrit to become ready.",
)
@click.pass_obj
def up(
    box: Sandbox,
    http_port: int | None,
    ssh_port: int | None,
    projects: tuple[str, ...],
    heap: str,
    timeout: float,
) -> None:
    """Create (or reuse) the sandbox and start Gerrit; idempotent."""
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
    verb = "started" if result.started else "already running"
    console.print(
        f"[bold green]Sandbox Gerrit {state.gerrit_version} {verb}[/] in {result.seconds:.1f}s"
    )
    _print_endpoints(state)
    console.print("\nConnection config for crosscheck (secrets stay in their files):")
    console.print(connection_config(state), markup=False, highlight=False)


@sandbox.command()
@click.pass_obj
def fetch(box: Sandbox) -> None:
    """Download Gerrit into the cache now (`up` does it when needed)."""
    dist = ensure_distribution(box.cache, err_console.log)
    console.print(f"Gerrit {dist.version} ready in {dist.root}")


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
    """Stop the sandbox Gerrit; its site and accounts are kept for the next `up`."""
    if box.down(timeout):
        console.print("Sandbox Gerrit stopped.")
    else:
        console.print("Sandbox Gerrit was not running.")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help='Print {"status": ...} as JSON.')
@click.pass_obj
def status(box: Sandbox, as_json: bool) -> None:
    """Say whether the sandbox runs (exit 0) or not (exit 3)."""
    current = asyncio.run(box.status())
    if as_json:
        console.print_json(json.dumps({"status": current.value}))
    else:
        console.print(f"Sandbox in {box.state_dir}: {current.value}")
        if current is not SandboxStatus.ABSENT:
            _print_endpoints(box.load())
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
    running = asyncio.run(box.status()) is SandboxStatus.RUNNING
    if as_json:
        click.echo(json.dumps(info(state, running), indent=2))
        return
    _print_endpoints(state)
    console.print(f"running: {running}    site: {state.site_dir}    log: {state.log_file}")


@sandbox.command()
@click.option("--project", default=None, help="Project to push to [default: the sandbox's first].")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Push HEAD of this git repository [default: a scratch clone with a new commit].",
)
@click.option("--branch", default="master", show_default=True)
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
@click.option("--topic", default=None)
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
    state = box.load()
    target = project or state.projects[0]
    contents = _parse_files(files)
    pushed = asyncio.run(_push(state, target, workdir, branch, subject, contents, topic, wip))
    if as_json:
        click.echo(json.dumps({**pushed.__dict__, "ref": pushed.ref}, indent=2))
    else:
        console.print(f"Pushed change {pushed.number} patchset {pushed.patchset}: {pushed.url}")


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
    scratch = workdir is None
    repo = SandboxRepo(state, project, workdir or state.state_dir / "work" / project)
    await repo.open()
    if scratch:
        files = files or {"README.sandbox": f"{subject}\n"}
        return await repo.push_change(files, subject, branch=branch, topic=topic, wip=wip)
    if files:
        raise click.UsageError(
            "--file writes into the scratch clone; commit files yourself "
            "when you push your own repository with --dir"
        )
    return await repo.push_head(branch=branch, topic=topic, wip=wip)


def _parse_files(specs: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for spec in specs:
        name, sep, content = spec.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{spec!r} is not PATH=CONTENT", param_hint="--file")
        parsed[name] = content + ("" if content.endswith("\n") else "\n")
    return parsed


def _print_endpoints(state: SandboxState) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("web and REST", state.http_url)
    table.add_row(
        "ssh",
        f"ssh -p {state.ssh_port} -i {state.ci.ssh_key} "
        f"-o UserKnownHostsFile={state.known_hosts} {state.ci.username}@127.0.0.1",
    )
    table.add_row("projects", ", ".join(state.projects))
    table.add_row("admin", f"{state.admin.username} (password: `crosscheck sandbox info --json`)")
    table.add_row("CI account", f"{state.ci.username} (HTTP password in {state.ci_password_file})")
    console.print(table)
