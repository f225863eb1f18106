"""The CI account `crosscheck serve` reports its own results as, to the service it embeds.

Zero configuration: at start the account is created when missing (allowed on every
project). Unless the configuration names a token, serve keeps one of its own in a
file only its user can read, and mints a new one (revoking the account's others)
when that file is missing or its token no longer works here (another store, a
rotation). The token is never logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from crosscheck.paths import write_private
from crosscheck.results.accounts import Accounts
from crosscheck.results.errors import AccountExistsError, AccountNotFoundError

log = logging.getLogger(__name__)

#: Under the state directory.
TOKEN_FILE = Path("results") / "ci-account.token"


async def own_token(
    accounts: Accounts,
    name: str,
    token_file: Path,
    *,
    configured: str | None = None,
    info_url: str = "",
) -> str:
    """The token to report as CI account `name`, the account created if missing."""
    minted = await _ensure_account(accounts, name, info_url)
    if configured is not None:
        if not await _is_token_of(accounts, configured, name):
            log.warning(
                "results: the configured token does not belong to CI account %r in this store, "
                "so its results will be refused; set one with `crosscheck results account "
                "rotate-token %s --token-file FILE` and name FILE in token_file",
                name,
                _quoted(name),
            )
        return configured
    if minted is None:
        kept = _read(token_file)
        if kept is not None and await _is_token_of(accounts, kept, name):
            return kept
        minted = await accounts.rotate_token(name)
    write_private(token_file, minted + "\n")
    log.warning("results: a new token for CI account %r is in %s (mode 0600)", name, token_file)
    return minted


async def _ensure_account(accounts: Accounts, name: str, info_url: str) -> str | None:
    """The new account's token when it had to be created, else None."""
    try:
        await accounts.get(name)
        return None
    except AccountNotFoundError:
        pass
    try:
        _, token = await accounts.create(
            name, owner="crosscheck serve", info_url=info_url, allowed_projects=("*",)
        )
    except AccountExistsError:  # created meanwhile by another process
        return None
    log.warning("results: created CI account %r for this CI's own results", name)
    return token


async def _is_token_of(accounts: Accounts, token: str, name: str) -> bool:
    account = await accounts.by_token(token)
    return account is not None and account.name == name


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name
