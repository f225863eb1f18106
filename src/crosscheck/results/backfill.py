"""Import CI results from Gerrit's history: the job lines of CI accounts' review messages.

Changes updated since a date are read through REST, a page at a time; every
message from a CI account that holds job lines becomes results on its patchset,
reported at the message's time. Each imported message is recorded (by server and
message id) in the same transaction as its results, so a re-run, or a run
interrupted and started again, never stores a result twice. A MERGED change is
recorded as merged at its current patchset, for the health table's votes.

A backfill is an administrator's import of what Gerrit already shows: it writes
beside the REST API, not through it, so a CI account's allowed projects do not
limit it, and an account named by the mapping is created when missing (with no
allowed projects: it cannot report through the API until an admin allows it).

Without a mapping, only Gerrit's service users are CIs: members of "Service Users"
(Gerrit 3.7 on) or "Non-Interactive Users" (before), or accounts Gerrit tags
SERVICE_USER. A person quoting a CI's `- job URL : SUCCESS` line is never one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crosscheck.drivers.gerrit.errors import GerritError, GerritNotFoundError
from crosscheck.drivers.gerrit.rest import GerritRestClient
from crosscheck.model.account_text import account_name_problem
from crosscheck.model.results import NewResult, result_problems
from crosscheck.results import records
from crosscheck.results.accounts import Accounts, account_id_of
from crosscheck.results.backfill_messages import CIMessage, parse_ci_message
from crosscheck.results.errors import AccountNotFoundError
from crosscheck.results.merges import Merge, record_merge
from crosscheck.store.tables import backfilled_messages

log = logging.getLogger(__name__)

#: Changes per REST page.
PAGE_SIZE = 100
_QUERY_OPTIONS = ["MESSAGES", "ALL_REVISIONS", "DETAILED_ACCOUNTS"]
#: Gerrit's group of non-interactive accounts: renamed in Gerrit 3.7.
SERVICE_GROUPS = ("Service Users", "Non-Interactive Users")
#: The tag Gerrit puts on a service user's AccountInfo.
SERVICE_USER_TAG = "SERVICE_USER"


@dataclass(frozen=True)
class BackfillOptions:
    since: datetime
    until: datetime | None = None
    #: Gerrit username -> CI account name; None imports Gerrit's service users whose
    #: messages have job lines, named by their Gerrit username.
    accounts: Mapping[str, str] | None = None
    #: Only this project (Gerrit's `project:` operator), or every project.
    project: str | None = None
    page_size: int = PAGE_SIZE


@dataclass
class BackfillReport:
    changes: int = 0
    #: Messages from CI accounts with at least one job line.
    messages: int = 0
    imported: int = 0
    #: Messages imported by an earlier run.
    already: int = 0
    results: int = 0
    accounts_created: list[str] = field(default_factory=list)
    #: (where, why) for every line or result left out.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Without a mapping: the service users found in Gerrit's groups (None: the groups
    #: could not be read; only SERVICE_USER tags count then).
    service_users: frozenset[str] | None = None
    #: Without a mapping: messages with job lines by people, not service users, by
    #: username; never imported.
    not_ci: dict[str, int] = field(default_factory=dict)
    #: Merged changes recorded (again, on a re-run: recording is idempotent).
    merges: int = 0


def gerrit_time(text: str) -> datetime:
    """Gerrit's `2024-05-01 12:00:00.123000000` (UTC, nanoseconds) as an aware datetime."""
    stamp, _, fraction = text.partition(".")
    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return moment.replace(microsecond=int((fraction + "000000")[:6])) if fraction else moment


def gerrit_query_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Backfill:
    def __init__(self, engine: AsyncEngine, rest: GerritRestClient, source: str) -> None:
        self.engine = engine
        self.rest = rest
        self.source = source.rstrip("/")
        self.accounts = Accounts(engine)
        self._account_ids: dict[str, int] = {}

    async def run(
        self,
        options: BackfillOptions,
        progress: Callable[[BackfillReport], None] | None = None,
    ) -> BackfillReport:
        report = BackfillReport()
        if options.accounts is None:
            report.service_users = await self._service_users()
        async for change in self._changes(options):
            report.changes += 1
            await self._import_change(change, options, report)
            if progress is not None:
                progress(report)
        return report

    async def _changes(self, options: BackfillOptions) -> AsyncIterator[dict[str, Any]]:
        # No `before:` for --until: a change updated since may hold older messages.
        query = f'after:"{gerrit_query_time(options.since)}"'
        if options.project is not None:
            query += f' project:"{options.project}"'
        start = 0
        while True:
            params = {"q": query, "o": _QUERY_OPTIONS, "n": options.page_size, "S": start}
            page = await self.rest.get("/changes/", params=params) or []
            for change in page:
                yield change
            if not page or not page[-1].get("_more_changes"):
                return
            start += len(page)

    async def _service_users(self) -> frozenset[str] | None:
        """Usernames in Gerrit's service-user groups; None when no group is readable
        (they are visible to their members, their owners and administrators)."""
        found: set[str] = set()
        readable = False
        for group in SERVICE_GROUPS:
            try:
                members = await self.rest.get(f"/groups/{quote(group, safe='')}/members/")
            except GerritNotFoundError:
                continue
            except GerritError as error:
                log.warning("cannot read Gerrit group %r: %s", group, error)
                continue
            readable = True
            found |= {str(m["username"]) for m in members or [] if m.get("username")}
        return frozenset(found) if readable else None

    async def _import_change(
        self, change: dict[str, Any], options: BackfillOptions, report: BackfillReport
    ) -> None:
        await self._record_merge(change, report)
        revisions = {
            info.get("_number"): sha for sha, info in (change.get("revisions") or {}).items()
        }
        seen_jobs: set[tuple[str, int, str]] = set()
        messages = sorted(change.get("messages") or [], key=lambda m: m.get("date", ""))
        for message in messages:
            name = self._account_name(message, options, report)
            when = gerrit_time(message["date"]) if message.get("date") else None
            if name is None or when is None or not _within(when, options):
                continue
            parsed = parse_ci_message(message.get("message") or "")
            if isinstance(name, _NotCI):
                if parsed.jobs:
                    report.not_ci[name.username] = report.not_ci.get(name.username, 0) + 1
                continue
            where = f"change {change['_number']} message {message.get('id')}"
            report.skipped += [(where, f"{why}: {line}") for line, why in parsed.unreadable]
            if not parsed.jobs:
                continue
            report.messages += 1
            origin = _Origin(change, message, name, when, where)
            items = _results(origin, parsed, revisions, seen_jobs)
            await self._store(origin, items, report)

    async def _record_merge(self, change: dict[str, Any], report: BackfillReport) -> None:
        """A merged change, at its current patchset: what the health table's votes count."""
        merge = merge_of_change(change)
        if merge is None:
            return
        async with self.engine.begin() as connection:
            await record_merge(connection, merge)
        report.merges += 1

    def _account_name(
        self, message: dict[str, Any], options: BackfillOptions, report: BackfillReport
    ) -> str | _NotCI | None:
        """The CI account of a message's author; _NotCI for a person (counted when they
        wrote job lines); None for an author the mapping leaves out."""
        author = message.get("author") or {}
        username = author.get("username")
        if username is None:
            return None
        if options.accounts is not None:
            return options.accounts.get(username)
        tagged = SERVICE_USER_TAG in (author.get("tags") or [])
        if tagged or username in (report.service_users or ()):
            return str(username)
        return _NotCI(str(username))

    async def _store(
        self, origin: _Origin, items: Sequence[NewResult], report: BackfillReport
    ) -> None:
        where, name = origin.where, origin.account
        now = datetime.now(UTC)
        good = []
        for index, item in enumerate(items):
            problems = result_problems(item, now)
            if problems:
                report.skipped += [(f"{where} job {index + 1}", f"{f} {m}") for f, m in problems]
            else:
                good.append(item)
        if not good:
            return
        account_id = await self._account_id(name, report)
        if account_id is None:
            report.skipped.append((where, f"{name!r} cannot be a CI account name"))
            return
        try:
            async with self.engine.begin() as connection:
                if await self._imported(connection, origin.message["id"]):
                    report.already += 1
                    return
                await connection.execute(
                    insert(backfilled_messages).values(
                        source=self.source,
                        message_id=origin.message["id"],
                        change_number=int(origin.change["_number"]),
                        results=len(good),
                        imported_at=now,
                    )
                )
                await records.insert_results(connection, account_id, name, good, now)
        except IntegrityError:  # another backfill took this message meanwhile
            report.already += 1
            return
        report.imported += 1
        report.results += len(good)

    async def _imported(self, connection: AsyncConnection, message_id: str) -> bool:
        found = await connection.execute(
            select(backfilled_messages.c.message_id).where(
                backfilled_messages.c.source == self.source,
                backfilled_messages.c.message_id == message_id,
            )
        )
        return found.first() is not None

    async def _account_id(self, name: str, report: BackfillReport) -> int | None:
        if name in self._account_ids:
            return self._account_ids[name]
        if account_name_problem(name) is not None:
            return None
        async with self.engine.connect() as connection:
            try:
                found = await account_id_of(connection, name)
            except AccountNotFoundError:
                found = None
        if found is None:
            # Its token is dropped: only an admin can rotate it.
            await self.accounts.create(name, by="backfill")
            report.accounts_created.append(name)
            log.info("created CI account %r for backfilled results", name)
            async with self.engine.connect() as connection:
                found = await account_id_of(connection, name)
        self._account_ids[name] = found
        return found


@dataclass(frozen=True)
class _NotCI:
    """A message's author who is not a service user."""

    username: str


@dataclass(frozen=True)
class _Origin:
    """Where results come from: one message of one change, by one CI account."""

    change: dict[str, Any]
    message: dict[str, Any]
    account: str
    when: datetime
    where: str


def _results(
    origin: _Origin,
    parsed: CIMessage,
    revisions: Mapping[int, str],
    seen_jobs: set[tuple[str, int, str]],
) -> list[NewResult]:
    """The message's jobs as results; a job seen earlier on the patchset is a re-run."""
    change = origin.change
    patchset = int(origin.message.get("_revision_number") or 1)
    items = []
    for job in parsed.jobs:
        key = (origin.account, patchset, job.job)
        items.append(
            NewResult(
                project=change["project"],
                branch=change.get("branch"),
                change=int(change["_number"]),
                patchset=patchset,
                revision=revisions.get(patchset),
                job=job.job,
                value=job.value,
                url=job.url,
                duration=job.duration,
                voting=job.voting,
                category=parsed.pipeline,
                rerun=key in seen_jobs,
                reported_at=origin.when,
            )
        )
        seen_jobs.add(key)
    return items


def merge_of_change(change: dict[str, Any]) -> Merge | None:
    """A MERGED ChangeInfo's merge: its current revision's patchset, at its submit time."""
    if change.get("status") != "MERGED" or not change.get("submitted"):
        return None
    revisions = change.get("revisions") or {}
    current = revisions.get(change.get("current_revision") or "") or {}
    patchset = current.get("_number") or max(
        (info.get("_number") or 0 for info in revisions.values()), default=0
    )
    if not patchset:
        return None
    return Merge(
        change=int(change["_number"]),
        project=str(change.get("project") or ""),
        patchset=int(patchset),
        merged_at=gerrit_time(change["submitted"]),
    )


def _within(moment: datetime, options: BackfillOptions) -> bool:
    return moment >= options.since and (options.until is None or moment < options.until)
