"""Reviews back to Gerrit: REST first, `gerrit review` over SSH as a fallback.

Votes go only on the patchset that is still current; on an older one the report
is a plain comment, or skipped (`StalePolicy`). After a request whose fate is
unknown (a timeout), the change's messages are checked before sending again, so
a report is never posted twice. Only retries check, and only messages dated after
the report was queued count: an identical message from an earlier recheck is
another report, not this one.

A closed change gets nothing: the change is read before posting, and a report on
an abandoned change, or on a merged one (unless the item ran because it merged, a
post-merge pipeline), is skipped; so is one Gerrit refuses with 409 because the
change closed in between. The read is never spared for what the stream said
(drivers/gerrit/watch.py): Gerrit takes a vote on an outdated patchset, and a stream
that lags (a stalled network) would not have said yet that a newer one came. Gerrit
unreachable, a 5xx, 408 or 429 raise TransientReportError (the queue tries again
later); any other refusal is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import asyncssh
import httpx

from crosscheck.drivers.base import TransientReportError
from crosscheck.drivers.gerrit import ssh
from crosscheck.drivers.gerrit.errors import GerritError, GerritHttpError, GerritUnreachableError
from crosscheck.drivers.gerrit.events import parse_timestamp
from crosscheck.drivers.gerrit.rest import GerritRestClient, change_id
from crosscheck.model.connection import GerritConnection
from crosscheck.model.report import Report, ReportOutcome, ReportState, StalePolicy, shorten

log = logging.getLogger(__name__)

#: How far Gerrit's clock may lag ours when matching a message to a report.
CLOCK_SKEW = 120.0


class GerritReporter:
    def __init__(
        self,
        connection: GerritConnection,
        rest: GerritRestClient,
        *,
        stale: StalePolicy = StalePolicy.COMMENT,
        ssh_fallback: bool = True,
        ssh_timeout: float = 60.0,
    ) -> None:
        self.connection = connection
        self.rest = rest
        self.stale = stale
        self.ssh_fallback = ssh_fallback
        self.ssh_timeout = ssh_timeout
        self._account_id: int | None = None

    async def send(self, report: Report) -> ReportOutcome:
        cid = change_id(report.project, report.change)
        try:
            change = await self._read_change(cid, report)
        except _RefusedError as refused:
            return refused.outcome
        current = change.get("current_revision") == report.revision
        skipped = self._skip_reason(change, report, current)
        if skipped is not None:
            return ReportOutcome(ReportState.SKIPPED, detail=skipped)
        review = self._review(report, current)
        if report.earlier_attempts and await self._already_posted(cid, report, review["message"]):
            return ReportOutcome(ReportState.SENT, "rest", "found already posted")
        return await self._post(cid, report, review)

    def _skip_reason(self, change: dict[str, Any], report: Report, current: bool) -> str | None:
        closed = _closed(change, report)
        if closed is not None:
            return f"the change is {closed}"
        if not current and self.stale is StalePolicy.SKIP:
            return "the patchset is no longer current"
        return None

    async def _post(self, cid: str, report: Report, review: dict[str, Any]) -> ReportOutcome:
        try:
            await self.rest.post(f"/changes/{cid}/revisions/{report.revision}/review", review)
        except GerritUnreachableError as error:
            if error.may_have_acted:
                # It may have landed: the next attempt checks before posting again.
                raise TransientReportError(str(error)) from error
            return await self._fallback(report, review, str(error))
        except GerritHttpError as error:
            if error.status_code == httpx.codes.SERVICE_UNAVAILABLE:
                return await self._fallback(report, review, str(error))
            if _transient(error):
                raise TransientReportError(str(error)) from error
            return await self._refused(cid, report, error)
        voted = f" with {dict(review['labels'])}" if review.get("labels") else " without votes"
        return ReportOutcome(ReportState.SENT, "rest", "posted" + voted)

    async def _refused(self, cid: str, report: Report, error: GerritHttpError) -> ReportOutcome:
        """Gerrit refused the review: skipped when the change was closed meanwhile (its
        409), else failed for good (permissions, a bad label): trying again will not help."""
        if error.status_code == httpx.codes.CONFLICT:
            with contextlib.suppress(GerritError, TransientReportError, _RefusedError):
                closed = _closed(await self._read_change(cid, report), report)
                if closed is not None:
                    return ReportOutcome(
                        ReportState.SKIPPED, "rest", f"the change is {closed} ({error})"
                    )
        return ReportOutcome(ReportState.FAILED, "rest", str(error))

    def _review(self, report: Report, current: bool) -> dict[str, Any]:
        review: dict[str, Any] = {
            "message": shorten(report.message),
            "tag": report.tag,
            "notify": report.notify.value,
            "omit_duplicate_comments": True,
        }
        if current and report.labels:
            review["labels"] = dict(report.labels)
        return review

    async def _read_change(self, cid: str, report: Report) -> dict[str, Any]:
        """The change's status and current revision, as Gerrit shows them now."""
        try:
            change: dict[str, Any] = await self.rest.get(
                f"/changes/{cid}", params={"o": "CURRENT_REVISION"}
            )
        except GerritHttpError as error:
            why = f"cannot read change {report.change}: {error}"
            if _transient(error):
                raise TransientReportError(why) from error
            # Not found, or not visible to the CI account: it will not be tomorrow either.
            raise _RefusedError(ReportOutcome(ReportState.FAILED, "rest", why)) from error
        except GerritError as error:
            raise TransientReportError(f"cannot read change {report.change}: {error}") from error
        return change

    async def _already_posted(self, cid: str, report: Report, message: str) -> bool:
        """Whether an earlier attempt of this report reached Gerrit after all."""
        try:
            messages = await self.rest.get(f"/changes/{cid}/messages")
        except GerritError as error:
            raise TransientReportError(f"cannot read messages: {error}") from error
        since = report.queued_at - CLOCK_SKEW
        # Only the CI account's own message counts: anyone may post a message with our
        # tag and text, and would otherwise suppress the vote of a report being retried.
        own = await self._own_account_id()
        return any(
            (m.get("author") or {}).get("_account_id") == own
            and m.get("tag") == report.tag
            and m.get("_revision_number") == report.patchset
            and m.get("message", "").endswith(message)
            and parse_timestamp(m.get("date")) >= since
            for m in messages
        )

    async def _own_account_id(self) -> int:
        """The CI account's id in Gerrit (asked once)."""
        if self._account_id is None:
            try:
                me = await self.rest.get("/accounts/self")
            except GerritError as error:
                raise TransientReportError(f"cannot read the CI account: {error}") from error
            self._account_id = int(me["_account_id"])
        return self._account_id

    async def _fallback(self, report: Report, review: dict[str, Any], why: str) -> ReportOutcome:
        if not self.ssh_fallback or self.connection.ssh_key is None:
            raise TransientReportError(why)
        log.warning(
            "gerrit %s: REST review failed (%s); trying `gerrit review` over SSH",
            self.connection.name,
            why,
        )
        try:
            await asyncio.wait_for(self._ssh_review(report, review), self.ssh_timeout)
        except (OSError, asyncssh.Error, TimeoutError) as error:
            raise TransientReportError(f"REST: {why}; SSH: {error}") from error
        return ReportOutcome(ReportState.SENT, "ssh", f"REST failed ({why}); sent over SSH")

    async def _ssh_review(self, report: Report, review: dict[str, Any]) -> None:
        async with await ssh.connect(self.connection) as connection:
            await connection.run(
                f"gerrit review --json {report.change},{report.patchset}",
                input=json.dumps(review),
                check=True,
            )


class _RefusedError(Exception):
    """Gerrit refused a request in a way no retry changes: the report's final outcome."""

    def __init__(self, outcome: ReportOutcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


def _closed(change: dict[str, Any], report: Report) -> str | None:
    """'abandoned' or 'merged' when the change is closed to this report, else None."""
    status = change.get("status")
    if status == "ABANDONED":
        return "abandoned"
    if status == "MERGED" and not report.after_merge:
        return "merged"
    return None


def _transient(error: GerritHttpError) -> bool:
    """A server error, a timeout or a rate limit: Gerrit may well take it later."""
    return error.status_code >= httpx.codes.INTERNAL_SERVER_ERROR or error.status_code in (
        httpx.codes.REQUEST_TIMEOUT,
        httpx.codes.TOO_MANY_REQUESTS,
    )
