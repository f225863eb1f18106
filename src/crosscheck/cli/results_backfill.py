"""`crosscheck results backfill`: CI results from Gerrit's review messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console

from crosscheck.config.secrets import read_secret
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.model.account_text import account_name_problem
from crosscheck.results.backfill import Backfill, BackfillOptions, BackfillReport
from crosscheck.store import STORE_SET, open_store

err_console = Console(stderr=True)
#: How many skipped lines to show; the rest are counted.
SHOWN_SKIPS = 20


def parse_when(text: str, option: str) -> datetime:
    """`2024-05-01` or `2024-05-01T12:00[:00][+02:00]`; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date: write 2024-05-01 or 2024-05-01T12:00:00Z",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_mapping(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, separator, username = pair.rpartition("=")
        if not separator or not name.strip() or not username.strip():
            raise click.BadParameter(
                f"{pair!r}: write NAME=GERRIT_USERNAME, for example 'Acme CI=acme-ci'",
                param_hint="--ci-account",
            )
        if problem := account_name_problem(name.strip()):
            raise click.BadParameter(f"{pair!r}: {problem}", param_hint="--ci-account")
        mapping[username.strip()] = name.strip()
    return mapping


@click.command()
@click.option(
    "--gerrit", "gerrit_url", required=True, help="Gerrit's URL, e.g. https://review.example.org"
)
@click.option("--user", help="Gerrit username for REST (anonymous without it).")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the user's HTTP password.",
)
@click.option("--password-env", metavar="VAR", help="Read the HTTP password from $VAR.")
@click.option(
    "--since", required=True, help="Import messages from this date on (UTC unless given)."
)
@click.option("--until", help="Import messages before this date only [default: now].")
@click.option("--project", help="Only this Gerrit project.")
@click.option(
    "--ci-account",
    "ci_accounts",
    multiple=True,
    metavar="NAME=GERRIT_USERNAME",
    help="Import this Gerrit user's messages as CI account NAME; repeatable. "
    "Without any, Gerrit's service users (the Service Users or Non-Interactive Users "
    "groups), named by Gerrit username; people are never imported.",
)
@click.option(
    "--store",
    "store_url",
    envvar="CROSSCHECK_STORE_URL",
    show_envvar=True,
    help="SQLAlchemy URL of the results store [default: SQLite in the state directory].",
)
def backfill(
    gerrit_url: str,
    user: str | None,
    password_file: Path | None,
    password_env: str | None,
    since: str,
    until: str | None,
    project: str | None,
    ci_accounts: tuple[str, ...],
    store_url: str | None,
) -> None:
    """Import CI results from Gerrit's history: the `- job URL : RESULT in 3m 02s` lines.

    Safe to run again: messages already imported are skipped.
    """
    begin = parse_when(since, "--since")
    end = parse_when(until, "--until") if until else None
    if end is not None and end <= begin:
        raise click.BadParameter(
            f"{until!r} is not after --since {since!r}: nothing could be imported",
            param_hint="--until",
        )
    options = BackfillOptions(
        since=begin,
        until=end,
        accounts=parse_mapping(ci_accounts),
        project=project,
    )
    password = read_secret("the Gerrit HTTP password", password_env, password_file)
    if password is not None and user is None:
        raise click.UsageError("a password needs --user too")
    report = asyncio.run(_run(gerrit_url, user, password, store_url, options))
    _print(report)


async def _run(
    gerrit_url: str,
    user: str | None,
    password: str | None,
    store_url: str | None,
    options: BackfillOptions,
) -> BackfillReport:
    engine = await open_store(store_url, hint=STORE_SET)
    try:
        async with GerritRestClient(gerrit_url, user, password) as rest:
            with err_console.status("reading changes from Gerrit") as status:

                def progress(report: BackfillReport) -> None:
                    status.update(
                        f"{report.changes} changes read, {report.results} results imported"
                    )

                return await Backfill(engine, rest, gerrit_url).run(options, progress)
    finally:
        await engine.dispose()


def _print(report: BackfillReport) -> None:
    for where, why in report.skipped[:SHOWN_SKIPS]:
        err_console.print(f"skipped {where}: {why}", markup=False, highlight=False)
    if len(report.skipped) > SHOWN_SKIPS:
        err_console.print(f"... and {len(report.skipped) - SHOWN_SKIPS} more skipped")
    _print_not_ci(report)
    for name in report.accounts_created:
        err_console.print(
            f"created CI account {name!r}: no allowed projects, so it cannot report through "
            f"the API until an admin allows some (PATCH /api/v1/accounts/NAME)",
            markup=False,
        )
    click.echo(
        f"{report.changes} changes, {report.messages} CI messages: "
        f"{report.imported} imported ({report.results} results), "
        f"{report.already} imported before, {len(report.skipped)} lines skipped; "
        f"{report.merges} merged changes recorded"
    )


def _print_not_ci(report: BackfillReport) -> None:
    if report.not_ci:
        people = ", ".join(f"{name} ({count})" for name, count in sorted(report.not_ci.items()))
        err_console.print(
            f"not imported, not Gerrit service users: messages with job lines by {people}; "
            "if one is a CI, name it with --ci-account NAME=GERRIT_USERNAME",
            markup=False,
            highlight=False,
        )
    if report.service_users is None and report.not_ci:
        err_console.print(
            "the Service Users and Non-Interactive Users groups could not be read, so only "
            "accounts Gerrit tags SERVICE_USER counted as CIs: give --user (a member or "
            "owner of those groups, or an administrator), or name CIs with --ci-account",
            markup=False,
            highlight=False,
        )
