"""The one report an item gets: the vote and the message third-party tooling parses.

    Build succeeded (check pipeline).

    - acme-cinder-iscsi https://ci.example.org/logs/.../ : SUCCESS in 3m 02s
    - acme-cinder-fc https://ci.example.org/logs/.../ : FAILURE in 41s (non-voting)

This is the format Zuul writes and CI dashboards (ci-watch, Stackalytics) and
crosscheck's own results backfill read back.
"""

from __future__ import annotations

from collections.abc import Sequence

from crosscheck.model.build import BuildResult, format_duration
from crosscheck.model.report import JobLine


def item_passed(lines: Sequence[JobLine]) -> bool:
    """Every voting job succeeded; non-voting jobs never change the vote."""
    return all(line.result == BuildResult.SUCCESS for line in lines if line.voting)


def item_message(pipeline: str, lines: Sequence[JobLine], info_url: str | None) -> str:
    verdict = "succeeded" if item_passed(lines) else "failed"
    parts = [f"Build {verdict} ({pipeline} pipeline).", ""]
    parts += [_line(line) for line in lines]
    if info_url:
        parts += ["", f"For more about this CI: {info_url}"]
    return "\n".join(parts)


def _line(line: JobLine) -> str:
    suffix = "" if line.voting else " (non-voting)"
    where = f" {line.url}" if line.url else ""
    return f"- {line.job}{where} : {line.result} in {format_duration(line.duration)}{suffix}"


def start_message(pipeline: str, jobs: Sequence[str]) -> str:
    return f"Starting {pipeline} jobs: {', '.join(jobs)}."
