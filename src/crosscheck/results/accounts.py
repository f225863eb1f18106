"""CI accounts, their tokens and SSH keys, in the store."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncssh
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.model.account_text import (
    account_name_problem,
    contact_problem,
    info_url_problem,
    plain_text_problem,
    project_pattern_problem,
)
from crosscheck.model.results import (
    MAX_DISABLED_REASON,
    MAX_DRIVER,
    MAX_OWNER,
    AuditAction,
    CIAccount,
    SshKey,
)
from crosscheck.results import audit
from crosscheck.results.audit import SYSTEM
from crosscheck.results.errors import (
    AccountDisabledError,
    AccountExistsError,
    AccountNotFoundError,
    InvalidInputError,
)
from crosscheck.results.tokens import (
    Verified,
    VerifiedTokens,
    new_token,
    same_secret,
    token_hash,
)
from crosscheck.store.tables import ci_accounts, ci_ssh_keys, ci_tokens


class Accounts:
    """Creates, changes and finds CI accounts. Tokens are returned once, never stored.

    Every change is written to the audit trail as `by` (who asked), in its transaction.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        #: Tokens checked a moment ago, for writes that confirm them as they store.
        self.verified = VerifiedTokens()

    async def create(
        self,
        name: str,
        *,
        owner: str = "",
        info_url: str = "",
        driver: str = "",
        contact: str = "",
        allowed_projects: Sequence[str] = (),
        admin: bool = False,
        by: str = SYSTEM,
    ) -> tuple[CIAccount, str]:
        """A new enabled account and its first token."""
        about = About(owner=owner, info_url=info_url, driver=driver, contact=contact)
        _check_account_fields(name, allowed_projects, about)
        now = datetime.now(UTC)
        token = new_token()
        try:
            async with self.engine.begin() as connection:
                account_id = (
                    await connection.execute(
                        insert(ci_accounts)
                        .values(
                            name=name,
                            owner=owner,
                            info_url=info_url,
                            driver=driver,
                            contact=contact,
                            enabled=True,
                            admin=admin,
                            allowed_projects=json.dumps(list(allowed_projects)),
                            disabled_reason="",
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(ci_accounts.c.id)
                    )
                ).scalar_one()
                await _insert_token(connection, account_id, token, now)
                detail = _describe(about, allowed_projects=allowed_projects, admin=admin)
                await audit.record(
                    connection, by, AuditAction.ACCOUNT_CREATED, name, detail, now=now
                )
        except IntegrityError as error:
            raise AccountExistsError(f"a CI account named {name!r} exists already") from error
        return await self.get(name), token

    async def get(self, name: str) -> CIAccount:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(select(ci_accounts).where(ci_accounts.c.name == name))
            ).one_or_none()
        if row is None:
            raise AccountNotFoundError(f"no CI account named {name!r}")
        return account_from_row(row._mapping)

    async def list_accounts(self) -> list[CIAccount]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(ci_accounts).order_by(ci_accounts.c.name))
            return [account_from_row(row._mapping) for row in rows]

    async def update(
        self,
        name: str,
        *,
        owner: str | None = None,
        info_url: str | None = None,
        driver: str | None = None,
        contact: str | None = None,
        allowed_projects: Sequence[str] | None = None,
        by: str = SYSTEM,
    ) -> CIAccount:
        about = About(owner=owner, info_url=info_url, driver=driver, contact=contact)
        _check_account_fields(None, allowed_projects or (), about)
        changes: dict[str, Any] = about.given()
        if allowed_projects is not None:
            changes["allowed_projects"] = json.dumps(list(allowed_projects))
        detail = _describe(about, allowed_projects=allowed_projects)
        await self._update(name, changes, (by, AuditAction.ACCOUNT_CHANGED, detail))
        return await self.get(name)

    async def set_enabled(
        self, name: str, enabled: bool, reason: str = "", *, by: str = SYSTEM
    ) -> CIAccount:
        if not enabled and (problem := plain_text_problem(reason, MAX_DISABLED_REASON)):
            raise InvalidInputError([("reason", problem)])
        action = AuditAction.ACCOUNT_ENABLED if enabled else AuditAction.ACCOUNT_DISABLED
        detail = "" if enabled else f"reason: {reason}" if reason else ""
        changes = {"enabled": enabled, "disabled_reason": "" if enabled else reason}
        await self._update(name, changes, (by, action, detail))
        return await self.get(name)

    async def rotate_token(self, name: str, *, by: str = SYSTEM) -> str:
        """Revoke every token of the account and issue a new one."""
        now = datetime.now(UTC)
        token = new_token()
        async with self.engine.begin() as connection:
            account_id = await account_id_of(connection, name)
            revoked = await connection.execute(
                update(ci_tokens)
                .where(ci_tokens.c.account_id == account_id, ci_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await _insert_token(connection, account_id, token, now)
            detail = f"{revoked.rowcount} token(s) revoked, a new one issued"
            await audit.record(connection, by, AuditAction.TOKEN_ROTATED, name, detail, now=now)
        # After the commit: a check between the two would remember the old token again.
        self.verified.clear()
        return token

    async def by_token(self, token: str) -> CIAccount | None:
        """The account a live token belongs to, or None."""
        found = await self.verify_token(token)
        return None if found is None else found.account

    async def verify_token(self, token: str) -> Verified | None:
        """The live token's account, read now (and remembered for writes), or None."""
        return await self.verify_hash(token_hash(token))

    async def verify_hash(self, hashed: str) -> Verified | None:
        """`verify_token` by the token's SHA-256."""
        async with self.engine.connect() as connection:
            found = await verified_token(connection, hashed)
        if found is None:
            self.verified.forget(hashed)
        else:
            self.verified.put(found)
        return found

    async def add_ssh_key(self, name: str, public_key: str, *, by: str = SYSTEM) -> SshKey:
        key = _parse_public_key(public_key)
        now = datetime.now(UTC)
        fingerprint = key.get_fingerprint()
        try:
            async with self.engine.begin() as connection:
                account_id = await account_id_of(connection, name)
                await connection.execute(
                    insert(ci_ssh_keys).values(
                        account_id=account_id,
                        algorithm=key.get_algorithm(),
                        key_data=key.export_public_key("openssh").decode().split()[1],
                        fingerprint=fingerprint,
                        comment=(key.get_comment() or "")[:300],
                        added_at=now,
                    )
                )
                detail = f"{key.get_algorithm()} {fingerprint}"
                await audit.record(connection, by, AuditAction.SSH_KEY_ADDED, name, detail, now=now)
        except IntegrityError as error:
            raise AccountExistsError(
                f"SSH key {fingerprint} is registered already (a key belongs to one account)"
            ) from error
        return SshKey(key.get_algorithm(), fingerprint, key.get_comment() or "", now)

    async def ssh_keys(self, name: str) -> list[SshKey]:
        async with self.engine.connect() as connection:
            account_id = await account_id_of(connection, name)
            rows = await connection.execute(
                select(ci_ssh_keys)
                .where(ci_ssh_keys.c.account_id == account_id)
                .order_by(ci_ssh_keys.c.id)
            )
            return [SshKey(r.algorithm, r.fingerprint, r.comment, r.added_at) for r in rows]

    async def by_ssh_key(self, key: asyncssh.SSHKey) -> CIAccount | None:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(ci_accounts, ci_ssh_keys.c.key_data)
                    .join(ci_ssh_keys, ci_ssh_keys.c.account_id == ci_accounts.c.id)
                    .where(ci_ssh_keys.c.fingerprint == key.get_fingerprint())
                )
            ).one_or_none()
        if row is None:
            return None
        # The fingerprint found it; the whole key must match too.
        offered = key.export_public_key("openssh").decode().split()[1]
        if not same_secret(offered, row.key_data):
            return None
        return account_from_row(row._mapping)

    async def _update(
        self, name: str, changes: dict[str, Any], audited: tuple[str, AuditAction, str]
    ) -> None:
        now = datetime.now(UTC)
        async with self.engine.begin() as connection:
            done = await connection.execute(
                update(ci_accounts)
                .where(ci_accounts.c.name == name)
                .values(**changes, updated_at=now)
            )
            if done.rowcount == 0:
                raise AccountNotFoundError(f"no CI account named {name!r}")
            by, action, detail = audited
            await audit.record(connection, by, action, name, detail, now=now)
        self.verified.clear()


async def verified_token(connection: AsyncConnection, hashed: str) -> Verified | None:
    """The account of the live token of this SHA-256, read in `connection`, or None."""
    row = (
        await connection.execute(
            select(ci_accounts, ci_tokens.c.token_hash)
            .join(ci_tokens, ci_tokens.c.account_id == ci_accounts.c.id)
            .where(ci_tokens.c.token_hash == hashed, ci_tokens.c.revoked_at.is_(None))
        )
    ).one_or_none()
    # The index found it by equality; compare again in constant time all the same.
    if row is None or not same_secret(row.token_hash, hashed):
        return None
    return Verified(hashed, int(row.id), account_from_row(row._mapping), row.allowed_projects)


async def account_id_of(connection: AsyncConnection, name: str) -> int:
    found = (
        await connection.execute(select(ci_accounts.c.id).where(ci_accounts.c.name == name))
    ).scalar_one_or_none()
    if found is None:
        raise AccountNotFoundError(f"no CI account named {name!r}")
    return int(found)


def account_from_row(row: Any) -> CIAccount:
    return CIAccount(
        name=row["name"],
        owner=row["owner"],
        info_url=row["info_url"],
        driver=row["driver"],
        contact=row["contact"],
        enabled=bool(row["enabled"]),
        admin=bool(row["admin"]),
        allowed_projects=tuple(json.loads(row["allowed_projects"])),
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        last_seen=row["last_seen"],
        last_success=row["last_success"],
    )


async def _insert_token(
    connection: AsyncConnection, account_id: int, token: str, now: datetime
) -> None:
    await connection.execute(
        insert(ci_tokens).values(
            account_id=account_id, token_hash=token_hash(token), created_at=now
        )
    )


@dataclass(frozen=True)
class About:
    """What people read about a CI account; None leaves a field as it is (an update)."""

    owner: str | None = None
    info_url: str | None = None
    driver: str | None = None
    contact: str | None = None

    def given(self) -> dict[str, str]:
        """The fields set, by column name, in a fixed order (the audit trail's)."""
        fields = ("owner", "info_url", "driver", "contact")
        return {name: value for name in fields if (value := getattr(self, name)) is not None}

    def problems(self) -> list[tuple[str, str]]:
        checks: dict[str, Callable[[str], str | None]] = {
            "owner": partial(plain_text_problem, limit=MAX_OWNER),
            "info_url": info_url_problem,
            "driver": partial(plain_text_problem, limit=MAX_DRIVER),
            "contact": contact_problem,
        }
        return [
            (name, problem)
            for name, value in self.given().items()
            if (problem := checks[name](value)) is not None
        ]


def _check_account_fields(name: str | None, allowed_projects: Sequence[str], about: About) -> None:
    """Names, owners and URLs reach API readers as stored: plain text and web addresses."""
    problems: list[tuple[str, str]] = []
    name_problem = None if name is None else account_name_problem(name)
    if name_problem:
        problems.append(("name", name_problem))
    problems += about.problems()
    for index, pattern in enumerate(allowed_projects):
        problem = project_pattern_problem(pattern)
        if problem:
            problems.append((f"allowed_projects[{index}]", problem))
    if problems:
        raise InvalidInputError(problems)


def _describe(
    about: About, *, allowed_projects: Sequence[str] | None = None, admin: bool = False
) -> str:
    """The fields an action set, for the audit trail."""
    parts = [f"{name}: {value!r}" for name, value in about.given().items()]
    if allowed_projects is not None:
        parts.append(f"allowed_projects: {', '.join(allowed_projects) or 'none'}")
    if admin:
        parts.append("admin")
    return "; ".join(parts)


def _parse_public_key(text: str) -> asyncssh.SSHKey:
    try:
        return asyncssh.import_public_key(text.strip())
    except (asyncssh.KeyImportError, ValueError) as error:
        raise InvalidInputError(
            [("key", f"not an OpenSSH public key ({error}); paste the .pub file's line")]
        ) from error


def check_enabled(account: CIAccount) -> None:
    if not account.enabled:
        reason = f" ({account.disabled_reason})" if account.disabled_reason else ""
        raise AccountDisabledError(
            f"CI account {account.name!r} is disabled{reason}: "
            "ask an admin of this results service to enable it"
        )


async def enabled_reporter(connection: AsyncConnection, account: str) -> tuple[int, CIAccount]:
    """The account's id and itself, in the writer's transaction: a missing or disabled
    account is refused before anything is stored."""
    row = (
        await connection.execute(select(ci_accounts).where(ci_accounts.c.name == account))
    ).one_or_none()
    if row is None:
        raise AccountNotFoundError(f"no CI account named {account!r}")
    reporter = account_from_row(row._mapping)
    check_enabled(reporter)
    return int(row.id), reporter
