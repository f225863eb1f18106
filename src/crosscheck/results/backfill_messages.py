"""Reading the job lines CI accounts write in Gerrit review messages.

Zuul and most third-party CIs write one line per job,

    - job-name https://logs.example/1 : SUCCESS in 3m 02s (non-voting)

sometimes without the URL (`- job-name : NOT_REGISTERED`); crosscheck appends the
reason of a non-success after an em dash (`: FAILURE in 3s — step 2 'make' exited 2`).
Jenkins' Gerrit Trigger
writes `https://jenkins.example/job/name/12/ : SUCCESS`, the job named by its URL.
Lines are read one by one; a line that looks like a job line but cannot be read
is kept with the reason, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crosscheck.model.report import DETAIL_SEPARATOR
from crosscheck.model.results import MAX_JOB, ResultValue, parse_duration

#: Zuul's build results (and a few other CIs'), to the service's values.
RESULTS: dict[str, ResultValue] = {
    "SUCCESS": ResultValue.PASSED,
    "PASSED": ResultValue.PASSED,
    "OK": ResultValue.PASSED,
    "FAILURE": ResultValue.FAILED,
    "FAILED": ResultValue.FAILED,
    "POST_FAILURE": ResultValue.FAILED,
    "RETRY_LIMIT": ResultValue.FAILED,
    "TIMED_OUT": ResultValue.FAILED,
    "NODE_FAILURE": ResultValue.FAILED,
    "MERGER_FAILURE": ResultValue.FAILED,
    "MERGE_CONFLICT": ResultValue.FAILED,
    "CONFIG_ERROR": ResultValue.FAILED,
    "DISK_FULL": ResultValue.FAILED,
    "ERROR": ResultValue.FAILED,
    "LOST": ResultValue.FAILED,
    "UNSTABLE": ResultValue.UNSTABLE,
    "SKIPPED": ResultValue.SKIPPED,
    "ABORTED": ResultValue.SKIPPED,
    "CANCELED": ResultValue.SKIPPED,
    "CANCELLED": ResultValue.SKIPPED,
    "NOT_BUILT": ResultValue.SKIPPED,
    "NOT_REGISTERED": ResultValue.NOT_REGISTERED,
}

# `- job [URL] : RESULT rest`; the job is any run of non-space characters.
_ZUUL_LINE = re.compile(
    r"^\s*[-*]\s+(?P<job>\S+)(?:\s+(?P<url>\S+))?\s+:\s+(?P<result>[A-Za-z_]+)(?P<rest>.*)$"
)
# `URL : RESULT rest`, as Jenkins' Gerrit Trigger writes.
_URL_LINE = re.compile(r"^\s*(?P<url>https?://\S+)\s+:\s+(?P<result>[A-Za-z_]+)(?P<rest>.*)$")
_IN_DURATION = re.compile(r"^\s+in\s+(?P<duration>[^()]+?)\s*(?:\(|$)", re.IGNORECASE)
_NON_VOTING = re.compile(r"\(\s*non-voting\s*\)", re.IGNORECASE)
_PIPELINE = re.compile(r"\((?P<pipeline>[\w.-]+) pipeline\)")
_JENKINS_JOB = re.compile(r"/job/(?P<job>[^/]+)/")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class JobLine:
    job: str
    value: ResultValue
    url: str | None = None
    #: Seconds.
    duration: float | None = None
    voting: bool = True
    #: The reason the line gives after the result, when it gives one.
    detail: str | None = None


@dataclass(frozen=True)
class CIMessage:
    """What one review message says: the pipeline, the jobs, and lines that could not be read."""

    pipeline: str | None = None
    jobs: list[JobLine] = field(default_factory=list)
    #: (line, why) for job-like lines that were not read.
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def parse_ci_message(text: str) -> CIMessage:
    pipeline = _PIPELINE.search(text)
    message = CIMessage(pipeline.group("pipeline") if pipeline else None)
    for line in text.splitlines():
        found = _job_line(line)
        if isinstance(found, JobLine):
            message.jobs.append(found)
        elif found is not None:
            message.unreadable.append((line.strip(), found))
    return message


def _job_line(line: str) -> JobLine | str | None:
    """The job of a line, why a job-like line is unreadable, or None for any other line."""
    match = _ZUUL_LINE.match(line)
    if match:
        job, url = match.group("job"), match.group("url")
        if url is None and _is_web(job):
            job, url = _job_of_url(job), job
    else:
        match = _URL_LINE.match(line)
        if not match:
            return None
        url = match.group("url")
        job = _job_of_url(url)
    result = match.group("result").upper()
    value = RESULTS.get(result)
    if value is None:
        return f"unknown result {result}: known are {', '.join(sorted(RESULTS))}"
    if not job or len(job) > MAX_JOB or _CONTROL.search(job):
        return f"job name {job[:40]!r} is empty, too long or holds control characters"
    rest, _, detail = match.group("rest").partition(DETAIL_SEPARATOR)
    return JobLine(
        job=job,
        value=value,
        url=url if url is not None and _is_web(url) else None,
        duration=_duration(rest),
        voting=not _NON_VOTING.search(rest),
        detail=detail.strip() or None,
    )


def _is_web(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _job_of_url(url: str) -> str:
    """Jenkins' `/job/NAME/12/`, else the URL's last path segment that is not a number."""
    jenkins = _JENKINS_JOB.findall(url)
    if jenkins:
        return str(jenkins[-1])
    parts = [p for p in urlsplit(url).path.split("/") if p and not p.isdigit()]
    return parts[-1] if parts else ""


def _duration(rest: str) -> float | None:
    match = _IN_DURATION.match(rest)
    if not match:
        return None
    try:
        return parse_duration(match.group("duration"))
    except ValueError:
        return None
