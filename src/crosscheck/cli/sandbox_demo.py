"""`crosscheck sandbox demo`: the whole CI loop on the sandbox, from push to vote."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from crosscheck.sandbox.demo import BackgroundServe, DemoOptions, DemoResult, run_demo
from crosscheck.sandbox.demo.flow import LABEL, demo_dir
from crosscheck.sandbox.gerrit import Sandbox, SandboxState, SandboxStatus


@click.command()
@click.option(
    "--config",
    "config_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("examples/sandbox-ci"),
    show_default=True,
    help="The CI configuration to serve; the sandbox's connection.yaml is added to it.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port of crosscheck's web server [default: the last run's, else a free one].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=180.0,
    show_default=True,
    help="Seconds to wait for the report once the change is pushed.",
)
@click.option("--stop", is_flag=True, help="Only stop the demo's crosscheck serve.")
@click.pass_obj
def demo(box: Sandbox, config_dir: Path, port: int | None, timeout: float, stop: bool) -> None:
    """Serve a CI on the running sandbox, push a change, and show the CI's vote on it.

    Starts `crosscheck serve` in the background for this sandbox (restarting the one
    a previous run left, so there is never more than one), pushes a sample change and
    waits until Gerrit shows the CI's Verified vote and message. Safe to run again.
    """
    if stop:
        _stop(box)
        return
    state = box.load()
    current = asyncio.run(box.status())
    if current is not SandboxStatus.RUNNING:
        raise click.ClickException(f"the sandbox is {current.value}: `{state.command('up')}`")
    options = DemoOptions(config_dir=config_dir, port=port, timeout=timeout)
    result = asyncio.run(run_demo(state, options, click.echo))
    _print_result(state, result)


def stop_demo_serve(box: Sandbox) -> int | None:
    """Stop the demo's serve of this sandbox; its pid, or None when none ran."""
    return BackgroundServe(demo_dir(box.state_dir)).stop()


def _stop(box: Sandbox) -> None:
    pid = stop_demo_serve(box)
    if pid is None:
        click.echo("The demo's crosscheck serve was not running.")
    else:
        click.echo(f"The demo's crosscheck serve (pid {pid}) stopped.")


def _print_result(state: SandboxState, result: DemoResult) -> None:
    change = result.change
    click.echo(
        f"\n{LABEL} {result.vote:+d} from {state.ci.username} on change "
        f"{change.number},{change.patchset}, {result.seconds:.1f}s from the push:\n"
    )
    for line in result.message.splitlines():
        click.echo(f"    {line}".rstrip())
    click.echo(f"\nchange       {result.change_url}  (JSON: the sandbox has no web UI)")
    width = max((len(job) for job, _ in result.log_urls), default=0)
    for index, (job, url) in enumerate(result.log_urls):
        click.echo(f"{'logs' if index == 0 else '':12s} {job:{width}s}  {url}")
    click.echo(f"crosscheck   {result.web_url}  (pid {result.pid})")
    click.echo(f"its log      {result.serve.log_file}")
    click.echo(f"its database {result.serve.database}")
    steps = [
        ("another change, tested too", state.command("push", "--file", "a.txt=hi")),
        ("what crosscheck does", f"tail -f {result.serve.log_file}"),
        ("stop crosscheck only", state.command("demo", "--stop")),
        ("stop everything", state.command("down") + "   # crosscheck, then Gerrit"),
    ]
    click.echo("\nNext:")
    for what, command in steps:
        click.echo(f"  {what + ':':28s} {command}")
