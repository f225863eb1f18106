"""The results service's one entry point for every transport (REST, verify-status, SSH, pages).

`report` is the single write path: it checks the account (enabled, rate,
projects, another account's name) and every item before storing anything, then
stores the whole batch in one transaction. Reads return plain model objects; the
pages' views of what accounts did are `activity` (activity.py), the accounts
themselves `accounts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.http.problems import describe
from crosscheck.model.results import (
    DEFAULT_MAX_RESULT_AGE,
    AccountStatistics,
    CIAccount,
    NewResult,
    Result,
    ResultValue,
    current_results,
    result_problems,
)
from crosscheck.results import records
from crosscheck.results.accounts import (
    Accounts,
    account_id_of,
    check_enabled,
    enabled_reporter,
    verified_token,
)
from crosscheck.results.activity import ActivityReads
from crosscheck.results.candidates import CandidateResults
from crosscheck.results.errors import (
    AuthenticationError,
    InvalidInputError,
    NotAllowedError,
    RateLimitedError,
    ResultsError,
)
from crosscheck.results.ratelimit import RateLimiter
from crosscheck.results.statistics import statistics
from crosscheck.results.tokens import Verified

#: The most results one batch may hold.
MAX_BATCH = 1000


class ResultsService:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        limiter: RateLimiter | None = None,
        max_age: timedelta | None = DEFAULT_MAX_RESULT_AGE,
    ) -> None:
        self.engine = engine
        self.accounts = Accounts(engine)
        #: What the accounts did, as the health table and an account's page show it.
        self.activity = ActivityReads(engine)
        self.limiter = limiter
        #: Account ids by name, as `report` met them: an account keeps its name and id.
        self._ids: dict[str, int] = {}
        #: Results reported as older are refused; None accepts any past time.
        self.max_age = max_age
        #: Results reported on promotion's candidates.
        self.candidates = CandidateResults(
            engine, check_rate=self.check_rate, max_age=max_age, max_batch=MAX_BATCH
        )

    # -- writing ---------------------------------------------------------------

    async def report(
        self,
        account: str,
        items: Sequence[NewResult],
        *,
        claimed: Sequence[str | None] = (),
        now: datetime | None = None,
        verified: CIAccount | None = None,
        remembered: Verified | None = None,
    ) -> list[Result]:
        """Store a batch for `account`, all or nothing.

        `claimed[i]` is the CI account item i names, if it names one: it must be the
        caller. Problems are located as `[i].field`. `verified` is the account as the
        caller's credentials were checked against just now (the HTTP API's): it is not
        read again. `remembered` is the caller's token as checked earlier (the HTTP
        API's, from `accounts.verified`): it is confirmed as the result is stored, or
        read again in this transaction.
        """
        now = now or datetime.now(UTC)
        if not items:
            raise InvalidInputError([("", "a batch needs at least one result")])
        if len(items) > MAX_BATCH:
            raise InvalidInputError([("", f"a batch holds at most {MAX_BATCH} results")])
        self.check_rate(account)
        async with self.engine.begin() as connection:
            if remembered is not None:
                stored = await self._store_remembered(connection, remembered, items, claimed, now)
                if stored is not None:
                    return stored
                verified = await self._read_again(connection, remembered)
            account_id, reporter = await self._reporter(connection, account, verified)
            _check_allowed(reporter, items, claimed)
            _check_valid(items, now, self.max_age)
            return await records.insert_results(connection, account_id, account, items, now)

    async def _store_remembered(
        self,
        connection: AsyncConnection,
        remembered: Verified,
        items: Sequence[NewResult],
        claimed: Sequence[str | None],
        now: datetime,
    ) -> list[Result] | None:
        """One result stored as the remembered account, its token confirmed by the INSERT
        itself; None when that cannot be: a batch (one read is nothing to it), a refusal
        (it must be the account's as it is now), the token or account changed since."""
        if len(items) != 1:
            return None
        try:
            check_enabled(remembered.account)
            _check_allowed(remembered.account, items, claimed)
            _check_valid(items, now, self.max_age)
        except ResultsError:
            return None
        stored = await records.insert_confirmed(connection, remembered, items[0], now)
        return None if stored is None else [stored]

    async def _read_again(self, connection: AsyncConnection, remembered: Verified) -> CIAccount:
        """The remembered token's account as it is now, or the token is refused."""
        self.accounts.verified.forget(remembered.token_hash)
        found = await verified_token(connection, remembered.token_hash)
        if found is None:
            raise AuthenticationError("the token is not valid (wrong, or rotated since)")
        self.accounts.verified.put(found)
        self._ids[found.account.name] = found.account_id
        return found.account

    async def _reporter(
        self, connection: AsyncConnection, account: str, verified: CIAccount | None
    ) -> tuple[int, CIAccount]:
        """The account's id and itself. A `verified` account was read with the token a
        moment ago, enabled and all: reading it again in this transaction would close
        no gap (a disable committed just after the insert is no different). Its id is
        known once seen: accounts are never renamed nor deleted."""
        account_id = self._ids.get(account)
        if verified is not None and verified.name == account and account_id is not None:
            check_enabled(verified)
            return account_id, verified
        account_id, reporter = await enabled_reporter(connection, account)
        self._ids[account] = account_id
        return account_id, reporter

    def check_rate(self, account: str) -> None:
        if self.limiter is None:
            return
        wait = self.limiter.take(account)
        if wait > 0:
            raise RateLimitedError(account, wait)

    # -- reading ---------------------------------------------------------------

    async def change_results(
        self,
        change: int,
        *,
        patchset: int | None = None,
        current: bool = True,
        account: str | None = None,
        job: str | None = None,
        failed_only: bool = False,
    ) -> list[Result]:
        """A change's results, oldest first: current ones only, or the whole history.

        `failed_only` applies after choosing the current ones: a job that failed
        and then passed is not failing.
        """
        async with self.engine.connect() as connection:
            found = await records.change_history(
                connection, change, patchset=patchset, account=account, job=job
            )
        if current:
            found = current_results(found)
        if failed_only:
            found = [r for r in found if r.value is ResultValue.FAILED]
        return found

    async def account_results(
        self, account: str, *, limit: int = 100, before: datetime | None = None
    ) -> list[Result]:
        """A CI account's results, newest first; page with `before` the last one's time."""
        async with self.engine.connect() as connection:
            account_id = await account_id_of(connection, account)
            return await records.account_history(connection, account_id, limit=limit, before=before)

    async def statistics(self, now: datetime | None = None) -> list[AccountStatistics]:
        """Every CI account's counts over 24 h, 7 d and 30 d, last seen and last success."""
        async with self.engine.connect() as connection:
            return await statistics(connection, now or datetime.now(UTC))

    async def account_statistics(
        self, account: str, now: datetime | None = None
    ) -> AccountStatistics:
        async with self.engine.connect() as connection:
            account_id = await account_id_of(connection, account)
            (found,) = await statistics(connection, now or datetime.now(UTC), account_id)
            return found

    async def project_of_change(self, change: int) -> str | None:
        """The project of a change some result was reported on."""
        async with self.engine.connect() as connection:
            return await records.project_of_change(connection, change)

    async def latest_patchset(self, change: int) -> int | None:
        async with self.engine.connect() as connection:
            return await records.latest_patchset(connection, change)

    async def patchset_of_revision(self, revision: str) -> tuple[str, int, int] | None:
        """(project, change, patchset) of a commit some result named."""
        async with self.engine.connect() as connection:
            return await records.patchset_of_revision(connection, revision)

    async def patchsets_of_commit(self, prefix: str) -> list[tuple[str, int, int, str]]:
        """(project, change, patchset, commit) of the commits some result named that start
        with `prefix` (a complete or abbreviated commit id); a few, when it is ambiguous."""
        async with self.engine.connect() as connection:
            return await records.patchsets_of_revision_prefix(connection, prefix.lower())


def _check_allowed(
    account: CIAccount, items: Sequence[NewResult], claimed: Sequence[str | None]
) -> None:
    problems: list[tuple[str, str]] = []
    for index, name in enumerate(claimed):
        if name is not None and name != account.name:
            problems.append(
                (
                    f"[{index}].ci",
                    f"the credentials are CI account {account.name!r}'s, not {name!r}",
                )
            )
    allowed = ", ".join(account.allowed_projects) or "none"
    for index, item in enumerate(items):
        if not account.may_write(item.project):
            problems.append(
                (
                    f"[{index}].project",
                    f"CI account {account.name!r} may not report on project {item.project!r} "
                    f"(allowed: {allowed})",
                )
            )
    if problems:
        raise NotAllowedError(describe(problems), problems)


def _check_valid(items: Sequence[NewResult], now: datetime, max_age: timedelta | None) -> None:
    problems = [
        (f"[{index}].{field}", message)
        for index, item in enumerate(items)
        for field, message in result_problems(item, now, max_age=max_age)
    ]
    if problems:
        raise InvalidInputError(problems)
