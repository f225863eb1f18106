"""Results on candidates: a CI's verdict on a scenario's set of versions, not a patchset's.

The same account checks as every result (enabled, rate, another account's name), then
the whole batch in one transaction. The projects an account may write to do not apply:
a candidate spans several projects, and a level counts only the accounts it names.
After the commit, every listener learns which candidates got evidence: serve's
promotion engine decides there, the moment a result arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.http.problems import describe
from crosscheck.model.promotion import (
    CandidateResult,
    NewCandidateResult,
    candidate_result_problems,
)
from crosscheck.results.accounts import enabled_reporter
from crosscheck.results.errors import (
    InvalidInputError,
    NotAllowedError,
    UnknownCandidateError,
)
from crosscheck.store import evidence, promotion

#: Told the candidates a committed batch named.
EvidenceListener = Callable[[set[str]], None]


class CandidateResults:
    """`ResultsService.candidates`: results reported on candidates, and their reads."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        check_rate: Callable[[str], None],
        max_age: timedelta | None,
        max_batch: int,
    ) -> None:
        self.engine = engine
        self.check_rate = check_rate
        self.max_age = max_age
        self.max_batch = max_batch
        self.listeners: list[EvidenceListener] = []

    async def report(
        self,
        account: str,
        items: Sequence[NewCandidateResult],
        *,
        claimed: Sequence[str | None] = (),
        now: datetime,
    ) -> list[CandidateResult]:
        """Store a batch of candidate results for `account`, all or nothing."""
        if not 1 <= len(items) <= self.max_batch:
            raise InvalidInputError([("", f"a batch holds 1 to {self.max_batch} results")])
        self.check_rate(account)
        async with self.engine.begin() as connection:
            account_id, _ = await enabled_reporter(connection, account)
            _check_claims(account, claimed)
            _check_valid(items, now, self.max_age)
            unknown = await promotion.unknown_candidates(connection, (i.candidate for i in items))
            if unknown:
                raise _unknown(items, unknown)
            stored = await evidence.insert_candidate_results(
                connection, account_id, account, items, now
            )
        self._tell({item.candidate for item in items})
        return stored

    async def results(self, candidate: str) -> list[CandidateResult]:
        """Every result reported on the candidate, oldest first."""
        async with self.engine.connect() as connection:
            if await promotion.unknown_candidates(connection, [candidate]):
                raise UnknownCandidateError(f"no candidate {candidate}")
            return list((await evidence.evidence(connection, candidate)).results)

    def _tell(self, candidates: set[str]) -> None:
        for listener in self.listeners:
            listener(candidates)


def _check_claims(account: str, claimed: Sequence[str | None]) -> None:
    problems = [
        (f"[{index}].ci", f"the credentials are CI account {account!r}'s, not {name!r}")
        for index, name in enumerate(claimed)
        if name is not None and name != account
    ]
    if problems:
        raise NotAllowedError(describe(problems), problems)


def _check_valid(
    items: Sequence[NewCandidateResult], now: datetime, max_age: timedelta | None
) -> None:
    problems = [
        (f"[{index}].{field}", message)
        for index, item in enumerate(items)
        for field, message in candidate_result_problems(item, now, max_age=max_age)
    ]
    if problems:
        raise InvalidInputError(problems)


def _unknown(items: Sequence[NewCandidateResult], unknown: set[str]) -> UnknownCandidateError:
    problems = [
        (
            f"[{index}].candidate",
            f"no candidate {item.candidate}: `crosscheck promotion explain SCENARIO LEVEL` "
            "and the /promotion pages name the candidates",
        )
        for index, item in enumerate(items)
        if item.candidate in unknown
    ]
    return UnknownCandidateError(describe(problems), problems)
