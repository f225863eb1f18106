"""An item's job results to a results service, through the public REST API any CI uses.

One report is one batch (`POST /api/v1/results/batch`, the CI account's token as a
bearer token), stored whole or not at all. Every result carries the time the report
was queued as `reported_at`, so a retry after an attempt whose fate is unknown first
asks the service for the account's results on the patchset at that time, and posts
again only when they are not there: an item's results are never stored twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from crosscheck.drivers.base import TransientReportError
from crosscheck.http.error_message import error_message
from crosscheck.model.build import BuildResult
from crosscheck.model.report import RUNNING, JobLine, Report, ReportOutcome, ReportState
from crosscheck.model.results import ResultValue

API = "/api/v1"
TRANSPORT = "results-api"
#: How far a stored `reported_at` may be from the one sent (the stores keep microseconds).
SAME_TIME = 0.001
_TRANSIENT = frozenset({httpx.codes.REQUEST_TIMEOUT, httpx.codes.TOO_MANY_REQUESTS})
_VALUES = {
    BuildResult.SUCCESS: ResultValue.PASSED,
    BuildResult.CANCELED: ResultValue.SKIPPED,
    # No verdict on the change, as its Gerrit comment says (and no vote): neither
    # passed nor failed, still counted against the CI's own success rate.
    BuildResult.NODE_FAILURE: ResultValue.UNSTABLE,
    BuildResult.ERROR: ResultValue.UNSTABLE,
}


def result_value(build_result: str) -> ResultValue:
    """A build that could not run is unstable; any other but success (a step that
    failed, a timeout, a merge conflict) a failure."""
    if build_result == RUNNING:
        return ResultValue.IN_PROGRESS
    try:
        return _VALUES.get(BuildResult(build_result), ResultValue.FAILED)
    except ValueError:
        return ResultValue.FAILED


class ResultsReporter:
    def __init__(
        self,
        url: str,
        account: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self._client = httpx.AsyncClient(
            base_url=self.url + API,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, report: Report) -> ReportOutcome:
        if not report.jobs:
            return ReportOutcome(ReportState.SKIPPED, detail="no job results to report")
        reported_at = datetime.fromtimestamp(report.queued_at or time.time(), UTC)
        if report.earlier_attempts and await self._already_stored(report, reported_at):
            return ReportOutcome(ReportState.SENT, TRANSPORT, "found already stored")
        if report.candidate is not None:
            path = f"/candidates/{report.candidate}/results"
            body = {"results": [_on_candidate(job, reported_at) for job in report.jobs]}
        else:
            path = "/results/batch"
            body = {"results": [_result(report, job, reported_at) for job in report.jobs]}
        answer = await self._call("POST", path, json=body)
        if answer.is_success:
            return ReportOutcome(
                ReportState.SENT,
                TRANSPORT,
                f"{len(report.jobs)} result(s) stored as CI account {self.account!r}",
            )
        # Refused for good (a wrong token, a disabled account, a project not allowed).
        return ReportOutcome(
            ReportState.FAILED,
            TRANSPORT,
            f"the results service refused them ({answer.status_code}): {error_message(answer)}",
        )

    async def _already_stored(self, report: Report, reported_at: datetime) -> bool:
        if report.candidate is not None:
            answer = await self._call("GET", f"/candidates/{report.candidate}/results")
        else:
            answer = await self._call(
                "GET",
                f"/changes/{report.change}/patchsets/{report.patchset}/results",
                params={"ci": self.account, "history": "true"},
            )
        if not answer.is_success:
            why = error_message(answer)
            raise TransientReportError(
                f"cannot check for an earlier attempt ({answer.status_code}): {why}"
            )
        stored = {
            item["job"]
            for item in answer.json().get("results", [])
            if item.get("ci", self.account) == self.account
            and abs((datetime.fromisoformat(item["reported_at"]) - reported_at).total_seconds())
            < SAME_TIME
        }
        return {job.job for job in report.jobs} <= stored

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer, unless trying again later may help: then TransientReportError."""
        try:
            answer = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            why = str(error) or type(error).__name__
            raise TransientReportError(
                f"cannot reach the results service at {self.url}: {why}"
            ) from error
        if answer.status_code >= httpx.codes.INTERNAL_SERVER_ERROR or (
            answer.status_code in _TRANSIENT
        ):
            raise TransientReportError(
                f"the results service answered {answer.status_code}: {error_message(answer)}"
            )
        return answer


def _on_candidate(job: JobLine, reported_at: datetime) -> dict[str, Any]:
    """One job's result on a candidate: no change, no patchset, no voting."""
    explained = job.result not in (BuildResult.SUCCESS, BuildResult.FAILURE)
    return {
        "job": job.job,
        "value": result_value(job.result).value,
        "url": job.url or None,
        "duration": job.duration,
        "comment": job.result if explained else None,
        "reported_at": reported_at.isoformat(),
    }


def _comment(*parts: str) -> str | None:
    """A non-verdict result's name, then the versions it was built with."""
    return "\n".join(part for part in parts if part) or None


def _result(report: Report, job: JobLine, reported_at: datetime) -> dict[str, Any]:
    value = result_value(job.result)
    explained = job.result not in (BuildResult.SUCCESS, BuildResult.FAILURE, RUNNING)
    result: dict[str, Any] = {
        "project": report.project,
        "change": report.change,
        "patchset": report.patchset,
        "job": job.job,
        "value": value.value,
        "url": job.url or None,
        "duration": None if job.result == RUNNING else job.duration,
        "voting": job.voting,
        "branch": report.branch or None,
        "revision": report.revision or None,
        # As backfill reads `(check pipeline)` from a review message.
        "category": report.pipeline or None,
        "comment": _comment(job.result if explained else "", report.note),
        "reported_at": reported_at.isoformat(),
    }
    return {key: item for key, item in result.items() if item is not None}
