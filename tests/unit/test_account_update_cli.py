"""`crosscheck results account update`: what it changes, and a call that changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.model.results import CIAccount
from crosscheck.results.accounts import Accounts
from crosscheck.store import open_store


def stored(store: str, name: str) -> CIAccount:
    async def read() -> CIAccount:
        engine = await open_store(store)
        try:
            return await Accounts(engine).get(name)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_update_changes_what_is_named_and_refuses_to_change_nothing(tmp_path: Path) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'results.db'}"
    cli = CliRunner()
    created = cli.invoke(
        main,
        ["results", "account", "create", "Acme CI", "--store", store, "--project", "acme/*",
         "--owner", "Acme", "--token-file", str(tmp_path / "token")],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    nothing = cli.invoke(main, ["results", "account", "update", "Acme CI", "--store", store])
    assert nothing.exit_code == 2
    assert "nothing to change" in nothing.output
    driver = cli.invoke(
        main,
        ["results", "account", "update", "Acme CI", "--store", store, "--driver", "Acme NFS"],
    )
    assert driver.exit_code == 0, driver.output
    account = stored(store, "Acme CI")
    assert (account.driver, account.owner, account.allowed_projects) == (
        "Acme NFS",
        "Acme",
        ("acme/*",),
    )
    cleared = cli.invoke(
        main, ["results", "account", "update", "Acme CI", "--store", store, "--project", ""]
    )
    assert cleared.exit_code == 0, cleared.output
    assert stored(store, "Acme CI").allowed_projects == ()
