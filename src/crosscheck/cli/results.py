"""`crosscheck results`: run the results service on its own, and manage CI accounts."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TextIO, TypeVar

import click
from rich.console import Console
from rich.table import Table

from crosscheck.cli.logs import configure_command, log_options
from crosscheck.cli.serve import LISTEN_FAILED
from crosscheck.config.pages import PagesSettings, load_pages_settings
from crosscheck.config.secrets import read_secret
from crosscheck.http.sockets import ListenError
from crosscheck.model.checks import parse_origins, service_url_problem
from crosscheck.model.results import DEFAULT_MAX_RESULT_AGE, AuditEvent, CIAccount
from crosscheck.paths import state_dir
from crosscheck.results.accounts import Accounts
from crosscheck.results.audit import audit_trail
from crosscheck.results.settings import ResultsSettings, check_tokens
from crosscheck.serve.results_server import Listen, serve_results
from crosscheck.store import STORE_SET, open_store

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

store_option = click.option(
    "--store",
    "store_url",
    envvar="CROSSCHECK_STORE_URL",
    show_envvar=True,
    help="SQLAlchemy URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB "
    "[default: SQLite in the state directory].",
)


@click.group()
def results() -> None:
    """The results service: CI results as structured data, from any CI."""


@results.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP address.")
@click.option("--port", default=8080, show_default=True, help="HTTP port.")
@click.option("--ssh-host", default="127.0.0.1", show_default=True)
@click.option("--ssh-port", default=29419, show_default=True, help="SSH command port.")
@click.option("--no-ssh", is_flag=True, help="No SSH command server.")
@click.option(
    "--host-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SSH host key, created when missing [default: STATE_DIR/results/ssh_host_ed25519_key].",
)
@click.option("--admin-token-env", metavar="VAR", help="Read the admin token from $VAR.")
@click.option(
    "--admin-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the admin token from this file.",
)
@click.option("--private-reads", is_flag=True, help="Reading results needs a token too.")
@click.option(
    "--read-token-env",
    metavar="VAR",
    help="A token in $VAR that only reads (the Gerrit Checks tab's, with --private-reads).",
)
@click.option(
    "--read-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A token in this file that only reads.",
)
@click.option("--rate", default=10.0, show_default=True, help="Writes/second per CI account.")
@click.option("--burst", default=100, show_default=True, help="Writes allowed in a burst.")
@click.option(
    "--max-result-age",
    type=click.FloatRange(min=0.001, max=366),
    default=DEFAULT_MAX_RESULT_AGE.days,
    show_default=True,
    metavar="DAYS",
    help="Refuse results reported as older than this.",
)
@click.option(
    "--pages-settings",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML for the pages and the Checks tab: gerrit-url, gerrit-origins, expected-cis per "
    "project, rerun-comments (see docs/results.md).",
)
@click.option(
    "--gerrit-url",
    metavar="URL",
    help="Gerrit's address: verify-status on a change no result named yet (Buildbot's first "
    "report, by number) is looked up there, anonymously.",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="The service's address as browsers reach it (behind a proxy: its https:// one), "
    "written into the Checks tab plugin it serves [default: each request's own].",
)
@log_options(env=False)
def serve(
    store_url: str | None,
    host: str,
    port: int,
    ssh_host: str,
    ssh_port: int,
    no_ssh: bool,
    host_key: Path | None,
    admin_token_env: str | None,
    admin_token_file: Path | None,
    private_reads: bool,
    read_token_env: str | None,
    read_token_file: Path | None,
    rate: float,
    burst: int,
    max_result_age: float,
    pages_settings: Path | None,
    gerrit_url: str | None,
    public_url: str | None,
    verbose: int,
    quiet: int,
    log_format: str | None,
) -> None:
    """Run the results service alone: REST API (OpenAPI at /docs), SSH commands and
    /metrics. Logs at INFO, a line per request too (-v for debug, -q for warnings only)."""
    configure_command(logging.INFO, verbose, quiet, log_format)
    read_admin_token = partial(read_secret, "the admin token", admin_token_env, admin_token_file)
    read_admin_token()  # a token named but unreadable stops the service now, not at a request
    if read_token_env and read_token_file:
        raise click.UsageError("give --read-token-env or --read-token-file, not both")
    read_read_token = partial(read_secret, "the read token", read_token_env, read_token_file)
    settings = ResultsSettings(
        public_reads=not private_reads,
        admin_token=read_admin_token,
        read_token=read_read_token,
        rate=rate,
        burst=burst,
        max_result_age=timedelta(days=max_result_age),
    )
    check_tokens(settings)  # unreadable or shared tokens stop the service now
    pages = _pages(pages_settings, gerrit_url)
    listen = Listen(
        http_host=host,
        http_port=port,
        ssh_host=ssh_host,
        ssh_port=None if no_ssh else ssh_port,
        host_key=host_key or state_dir() / "results" / "ssh_host_ed25519_key",
        gerrit_url=gerrit_url or pages.gerrit_url,
        public_url=_public_url(public_url),
    )
    try:
        asyncio.run(serve_results(store_url, settings, listen, pages))
    except ListenError as error:
        click.echo(f"crosscheck results serve: {error}", err=True)
        raise SystemExit(LISTEN_FAILED) from None


def _public_url(url: str | None) -> str | None:
    problem = service_url_problem(url) if url is not None else None
    if problem:
        raise click.BadParameter(problem, param_hint="--public-url")
    return url.rstrip("/") if url else None


def _pages(path: Path | None, gerrit_url: str | None) -> PagesSettings:
    """The pages' file, whose `gerrit-url` links changes; else `--gerrit-url` does."""
    pages = load_pages_settings(path) if path else PagesSettings()
    if pages.gerrit_url is None and gerrit_url:
        # As the file's own gerrit-url: that Gerrit's pages may read (its Checks tab).
        origins = pages.gerrit_origins or parse_origins(None, gerrit_url)
        pages = replace(pages, gerrit_url=gerrit_url, gerrit_origins=origins)
    return pages


@results.group()
def account() -> None:
    """Create, update, list, disable and enable CI accounts; rotate tokens; add SSH keys."""


def _with_accounts(
    store_url: str | None, work: Callable[[Accounts], Awaitable[T]], *, existing: bool = False
) -> T:
    async def run() -> T:
        engine = await open_store(store_url, hint=STORE_SET, existing=existing)
        try:
            return await work(Accounts(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _actor() -> str:
    """The trail names who ran the command on this machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid())
    return f"cli ({user})"


def _hand_over_token(token: str, token_file: Path | None) -> None:
    """Shown once: to a 0600 file, or on stdout (and nowhere else)."""
    if token_file is None:
        click.echo(token)
        err_console.print("[bold]Keep this token now[/]: only its hash is stored.")
        return
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    err_console.print(f"token written to {token_file} (mode 0600)")


token_file_option = click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the token to this file (mode 0600) instead of printing it.",
)


@account.command()
@store_option
@click.argument("name")
@click.option("--owner", default="", help="Who runs this CI (a team or company).")
@click.option("--info-url", default="", help="Where to read about this CI.")
@click.option("--driver", default="", help="The product or driver it tests.")
@click.option("--contact", default="", help="An email address or an http(s) URL.")
@click.option(
    "--project",
    "projects",
    multiple=True,
    help="A project it may report on: a glob (openstack/*) or a regex (^...); repeatable.",
)
@click.option("--admin", is_flag=True, help="May manage accounts too.")
@token_file_option
def create(
    store_url: str | None,
    name: str,
    owner: str,
    info_url: str,
    driver: str,
    contact: str,
    projects: tuple[str, ...],
    admin: bool,
    token_file: Path | None,
) -> None:
    """Create a CI account and print its token, once."""
    if not projects and not admin:
        err_console.print("note: no --project given, so this account cannot report yet")
    _, token = _with_accounts(
        store_url,
        lambda accounts: accounts.create(
            name,
            owner=owner,
            info_url=info_url,
            driver=driver,
            contact=contact,
            allowed_projects=projects,
            admin=admin,
            by=_actor(),
        ),
    )
    _hand_over_token(token, token_file)


@account.command()
@store_option
@click.argument("name")
@click.option("--owner", help="Who runs this CI (a team or company).")
@click.option("--info-url", help="Where to read about this CI.")
@click.option("--driver", help="The product or driver it tests.")
@click.option("--contact", help="An email address or an http(s) URL.")
@click.option(
    "--project",
    "projects",
    multiple=True,
    help="Replace the projects it may report on (repeatable); omitted: unchanged.",
)
def update(
    store_url: str | None,
    name: str,
    owner: str | None,
    info_url: str | None,
    driver: str | None,
    contact: str | None,
    projects: tuple[str, ...],
) -> None:
    """Change what an account's options name; the others stay as they are ("" clears a
    text; --project "" alone leaves the account allowed no project)."""
    if all(v is None for v in (owner, info_url, driver, contact)) and not projects:
        raise click.UsageError(
            "nothing to change: give --owner, --info-url, --driver, --contact or --project"
        )
    _with_accounts(
        store_url,
        lambda accounts: accounts.update(
            name,
            owner=owner,
            info_url=info_url,
            driver=driver,
            contact=contact,
            allowed_projects=[p for p in projects if p] if projects else None,
            by=_actor(),
        ),
    )
    err_console.print(f"CI account {name!r} updated")


@account.command("list")
@store_option
def list_accounts(store_url: str | None) -> None:
    """Every CI account, its state and projects."""
    found = _with_accounts(store_url, lambda accounts: accounts.list_accounts(), existing=True)
    # Driver and contact are left to the API's JSON reads: a wider table wraps every cell.
    table = Table("name", "enabled", "admin", "projects", "owner", "last seen")
    for item in found:
        table.add_row(*_account_row(item))
    console.print(table)


def _account_row(item: CIAccount) -> list[str]:
    enabled = "yes" if item.enabled else f"no ({item.disabled_reason})".replace(" ()", "")
    seen = item.last_seen.strftime("%Y-%m-%d %H:%M") if item.last_seen else "never"
    return [
        item.name,
        enabled,
        "yes" if item.admin else "",
        ", ".join(item.allowed_projects),
        item.owner,
        seen,
    ]


@account.command()
@store_option
@click.argument("name")
@click.option("--reason", default="", help="Shown to the CI when it is refused.")
def disable(store_url: str | None, name: str, reason: str) -> None:
    """Disable an account: its reports are refused with a clear message."""
    _with_accounts(
        store_url, lambda accounts: accounts.set_enabled(name, False, reason, by=_actor())
    )
    err_console.print(f"CI account {name!r} disabled")


@account.command()
@store_option
@click.argument("name")
def enable(store_url: str | None, name: str) -> None:
    """Enable an account again."""
    _with_accounts(store_url, lambda accounts: accounts.set_enabled(name, True, by=_actor()))
    err_console.print(f"CI account {name!r} enabled")


@account.command("rotate-token")
@store_option
@click.argument("name")
@token_file_option
def rotate_token(store_url: str | None, name: str, token_file: Path | None) -> None:
    """Revoke the account's tokens and print a new one, once."""
    token = _with_accounts(store_url, lambda accounts: accounts.rotate_token(name, by=_actor()))
    _hand_over_token(token, token_file)


@account.command("add-key")
@store_option
@click.argument("name")
@click.argument("key_file", type=click.File("r"))
def add_key(store_url: str | None, name: str, key_file: TextIO) -> None:
    """Add an SSH public key (a .pub file, or - for stdin) for the SSH commands."""
    text = key_file.read()
    key = _with_accounts(store_url, lambda accounts: accounts.add_ssh_key(name, text, by=_actor()))
    err_console.print(f"added {key.algorithm} key {key.fingerprint} to {name!r}")


from crosscheck.cli.results_backfill import backfill  # noqa: E402 -- registered last

results.add_command(backfill)


@results.command()
@store_option
@click.option("--account", "account_name", help="Only this CI account's events.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="How many events, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(store_url: str | None, account_name: str | None, limit: int, as_json: bool) -> None:
    """Admins' actions on CI accounts: created, changed, disabled, enabled, token rotated,
    SSH key added; who did it and when."""

    async def read() -> list[AuditEvent]:
        engine = await open_store(store_url, hint=STORE_SET, existing=True)
        try:
            return await audit_trail(engine, limit=limit, account=account_name)
        finally:
            await engine.dispose()

    events = asyncio.run(read())
    if as_json:
        for event in events:
            click.echo(json.dumps(_audit_record(event)))
        return
    table = Table("time (UTC)", "actor", "action", "account", "detail")
    for event in events:
        table.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.actor,
            event.action.value,
            event.account,
            event.detail,
        )
    console.print(table)


def _audit_record(event: AuditEvent) -> dict[str, str | int]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action.value,
        "account": event.account,
        "detail": event.detail,
    }
