"""Promotion's evidence in the store: results reported on candidates, and approvals.

Only this module touches `candidate_results` and `candidate_approvals`. Writing one
is all it does: whether the evidence is enough is `model.promotion.decide`'s to say,
and who may write it is the results service's (`ResultsService.report_on_candidates`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.promotion import (
    CandidateResult,
    Evidence,
    ManualApproval,
    NewCandidateResult,
)
from crosscheck.model.results import ResultValue
from crosscheck.store.tables import candidate_approvals, candidate_results, ci_accounts
from crosscheck.store.upsert import upsert


@dataclass(frozen=True)
class CandidateEvidence:
    """Everything known of one candidate: its results, and its approvals per level."""

    results: tuple[CandidateResult, ...] = ()
    approvals: dict[str, tuple[ManualApproval, ...]] = field(default_factory=dict)

    def for_level(self, level: str) -> Evidence:
        return Evidence(self.results, self.approvals.get(level, ()))


async def insert_candidate_results(
    db: AsyncConnection,
    account_id: int,
    account_name: str,
    items: Sequence[NewCandidateResult],
    now: datetime,
) -> list[CandidateResult]:
    """Store checked results on recorded candidates, in the caller's transaction."""
    rows = [
        {
            "candidate": item.candidate,
            "account_id": account_id,
            "job": item.job,
            "value": item.value.value,
            "url": item.url,
            "duration": item.duration,
            "comment": item.comment,
            "reported_at": (item.reported_at or now).astimezone(UTC),
            "received_at": now,
        }
        for item in items
    ]
    inserted = await db.execute(
        insert(candidate_results).returning(candidate_results.c.id, sort_by_parameter_order=True),
        rows,
    )
    return [
        _result({**row, "id": found.id, "account": account_name})
        for row, found in zip(rows, inserted, strict=True)
    ]


async def approve(
    db: AsyncConnection, candidate: str, level: str, *, account: str, at: datetime, comment: str
) -> bool:
    """Record the account's approval of the candidate for the level; False if it had one."""
    statement = (
        upsert(db, candidate_approvals)
        .values(candidate=candidate, level=level, account=account, approved_at=at, comment=comment)
        .on_conflict_do_nothing()
        .returning(candidate_approvals.c.account)
    )
    return (await db.execute(statement)).first() is not None


async def evidence(db: AsyncConnection, candidate: str, *, full: bool = True) -> CandidateEvidence:
    """The candidate's results (oldest first) and approvals. Without `full`, only what a
    decision reads (job, account, value, time): the engine's read at each arrival."""
    columns = [
        candidate_results.c.id,
        candidate_results.c.job,
        candidate_results.c.value,
        candidate_results.c.reported_at,
        ci_accounts.c.name.label("account"),
    ]
    if full:
        columns += [candidate_results.c.url, candidate_results.c.duration,
                    candidate_results.c.comment]  # fmt: skip
    rows = await db.execute(
        select(*columns)
        .join(ci_accounts, ci_accounts.c.id == candidate_results.c.account_id)
        .where(candidate_results.c.candidate == candidate)
        .order_by(candidate_results.c.id)
    )
    results = tuple(
        CandidateResult(
            id=int(row.id),
            job=row.job,
            account=row.account,
            value=ResultValue(row.value),
            reported_at=row.reported_at,
            candidate=candidate,
            url=row.url if full else None,
            duration=row.duration if full else None,
            comment=row.comment if full else None,
        )
        for row in rows
    )
    approvals: dict[str, list[ManualApproval]] = defaultdict(list)
    for row in await db.execute(
        select(candidate_approvals)
        .where(candidate_approvals.c.candidate == candidate)
        .order_by(candidate_approvals.c.approved_at)
    ):
        approvals[row.level].append(ManualApproval(row.account, row.approved_at))
    return CandidateEvidence(results, {level: tuple(found) for level, found in approvals.items()})


def _result(row: Mapping[str, Any]) -> CandidateResult:
    return CandidateResult(
        id=int(row["id"]),
        job=row["job"],
        account=row["account"],
        value=ResultValue(row["value"]),
        reported_at=row["reported_at"],
        candidate=row["candidate"],
        url=row["url"],
        duration=row["duration"],
        comment=row["comment"],
    )
