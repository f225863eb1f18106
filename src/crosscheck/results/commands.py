"""The SSH commands, apart from SSH: parse a command line, report as the key's CI account.

    verify-status save [-p PROJECT] [-b BRANCH] -v 'name=J|value=1|url=...' [-v ...]
                       {COMMIT | CHANGE,PS}...      (COMMIT complete or abbreviated)
    crosscheck-report --project P --change N --patchset N --job J --result passed [--url ...]
    crosscheck-report --batch < results.json
    crosscheck-report --candidate HASH --job J --result passed [--url ...] [--batch < results.json]

Exit status: 0 stored, 1 refused (the message says why), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from pydantic import ValidationError

from crosscheck.http.problems import validation_problems
from crosscheck.model.results import NewResult, is_pending, parse_duration, verify_status_value
from crosscheck.results.errors import InvalidInputError, ResultsError, UnknownChangeError
from crosscheck.results.resolver import COMMIT, ChangeResolver, PatchsetRef, find_commit
from crosscheck.results.schemas import BatchIn, CandidateBatchIn, CandidateResultIn, ResultIn
from crosscheck.results.service import ResultsService

USAGE = (
    "commands: `verify-status save [-p PROJECT] [-b BRANCH] -v 'name=JOB|value=1|...' "
    "{COMMIT | CHANGE,PS}...` and `crosscheck-report --help`"
)
_TARGET = re.compile(r"^(\d+),(\d+)$")
_VERIFICATION_KEYS = frozenset(
    {"name", "value", "url", "reporter", "category", "duration", "abstain", "rerun", "comment"}
)


@dataclass(frozen=True)
class CommandOutcome:
    exit_status: int
    stdout: str = ""
    stderr: str = ""


class UsageError(Exception):
    """Bad arguments; the message says which and how to write them."""


class _Stop(Exception):  # noqa: N818 -- not an error: --help ends parsing early
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting the process."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Stop(status, message or "")

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")

    def print_help(self, file: Any = None) -> None:
        raise _Stop(0, self.format_help())


@dataclass
class CommandContext:
    account: str
    service: ResultsService
    resolver: ChangeResolver
    read_stdin: Callable[[], Awaitable[str]]


async def run_command(command_line: str, context: CommandContext) -> CommandOutcome:
    try:
        words = shlex.split(command_line)
        if words[:1] == ["gerrit"]:
            words = words[1:]
        if words[:2] == ["verify-status", "save"]:
            items = await _verify_status_save(words[2:], context)
        elif words[:1] == ["crosscheck-report"]:
            options = _report_parser().parse_args(words[1:])
            if options.candidate is not None:
                stored = await _report_on_candidate(options, context)
                return CommandOutcome(0, stdout=f"stored {stored} result(s)\n")
            items = await _crosscheck_report(options, context)
        else:
            raise UsageError(f"unknown command {command_line!r}; {USAGE}")
        stored = len(await context.service.report(context.account, items))
    except _Stop as stop:
        return CommandOutcome(stop.status, stdout=str(stop))
    except (UsageError, ValueError) as error:
        return CommandOutcome(2, stderr=f"error: {error}\n")
    except ResultsError as error:
        return CommandOutcome(1, stderr=f"error: {error}\n")
    return CommandOutcome(0, stdout=f"stored {stored} result(s)\n")


# -- verify-status save ------------------------------------------------------


def _verify_status_parser() -> _Parser:
    parser = _Parser(prog="verify-status save", description="Save job results on patchsets.")
    parser.add_argument("-p", "--project", help="the project of the changes")
    parser.add_argument("-b", "--branch", help="the branch of the changes")
    parser.add_argument(
        "-v",
        "--verification",
        action="append",
        required=True,
        help="'name=JOB|value=1|url=...|duration=1m|abstain=false|rerun=false|comment=...'",
    )
    parser.add_argument("targets", nargs="+", metavar="{COMMIT | CHANGE,PS}")
    return parser


async def _verify_status_save(args: Sequence[str], context: CommandContext) -> list[NewResult]:
    options = _verify_status_parser().parse_args(args)
    verifications = [_verification(text, i) for i, text in enumerate(options.verification)]
    items: list[NewResult] = []
    for target in options.targets:
        where = await _place(target, options.project, context)
        branch = options.branch or where.branch
        items += [_as_result(v, where, branch) for v in verifications]
    return items


def _verification(text: str, index: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split("|"):
        key, equals, value = part.partition("=")
        key = key.strip()
        if not equals or key not in _VERIFICATION_KEYS:
            raise UsageError(
                f"-v #{index + 1}: {part!r} is not KEY=VALUE with KEY one of "
                f"{', '.join(sorted(_VERIFICATION_KEYS))}"
            )
        fields[key] = value
    for required in ("name", "value"):
        if not fields.get(required):
            raise UsageError(f"-v #{index + 1}: {required}=... is required")
    return fields


def _as_result(fields: dict[str, str], where: PatchsetRef, branch: str | None) -> NewResult:
    duration = fields.get("duration") or None
    try:
        value = verify_status_value(int(fields["value"]), duration)
    except ValueError as error:
        raise UsageError(f"value={fields['value']}: {error}") from error
    if duration is not None and is_pending(duration):
        duration = None
    return NewResult(
        project=where.project,
        change=where.change,
        patchset=where.patchset,
        revision=where.revision,
        branch=branch,
        job=fields["name"],
        value=value,
        url=fields.get("url") or None,
        duration=parse_duration(duration) if duration else None,
        voting=not _flag(fields, "abstain"),
        category=fields.get("category") or None,
        rerun=_flag(fields, "rerun"),
        comment=fields.get("comment") or None,
    )


def _flag(fields: dict[str, str], name: str) -> bool:
    text = fields.get(name, "false").strip().lower()
    if text not in ("true", "false"):
        raise UsageError(f"{name}={text}: write true or false")
    return text == "true"


async def _place(target: str, project: str | None, context: CommandContext) -> PatchsetRef:
    numbered = _TARGET.match(target)
    if numbered:
        change, patchset = numbered.groups()
        change_id = f"{project}~{change}" if project else change
        try:
            return await context.resolver.resolve(change_id, patchset)
        except UnknownChangeError as error:
            if project is not None:
                raise
            # The resolver's advice names REST forms; this command takes -p.
            raise UsageError(
                f"change {change} is unknown here, so its project is too: add -p PROJECT, "
                f"as in `verify-status save -p openstack/nova -v ... {target}`"
            ) from error
    if COMMIT.match(target):
        found = await find_commit(context.service, target, project=project)
        if found is not None:
            return found
        raise UsageError(
            f"commit {target} is unknown here (no result names it yet): name its patchset "
            f"as CHANGE,PS with -p PROJECT, as in `-p openstack/nova 123456,3`"
        )
    raise UsageError(
        f"{target!r} is neither a commit id (4 to 40 hex digits, complete or abbreviated) "
        "nor CHANGE,PS"
    )


# -- crosscheck-report -------------------------------------------------------


def _report_parser() -> _Parser:
    parser = _Parser(prog="crosscheck-report", description="Report job results.")
    parser.add_argument("--batch", action="store_true", help="read {'results': [...]} from stdin")
    parser.add_argument("--candidate", help="a promotion candidate's id, instead of a patchset")
    for name in ("project", "branch", "revision", "job", "url", "duration", "category", "comment"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--change", type=int)
    parser.add_argument("--patchset", type=int)
    parser.add_argument("--result", help="passed, failed, unstable, in_progress, skipped, ...")
    parser.add_argument("--non-voting", action="store_true")
    parser.add_argument("--rerun", action="store_true")
    return parser


async def _crosscheck_report(
    options: argparse.Namespace, context: CommandContext
) -> list[NewResult]:
    if options.batch:
        return _batch(await context.read_stdin())
    missing = [
        f"--{name}" for name in ("project", "change", "patchset", "job", "result")
        if getattr(options, name) is None
    ]  # fmt: skip
    if missing:
        raise UsageError(f"crosscheck-report: {', '.join(missing)} required (or --batch)")
    fields = {
        name: getattr(options, name)
        for name in ("project", "branch", "revision", "job", "url", "duration", "category",
                     "comment", "change", "patchset", "rerun")
        if getattr(options, name) is not None
    }  # fmt: skip
    fields |= {"value": options.result, "voting": not options.non_voting}
    try:
        return [ResultIn.model_validate(fields).to_new()]
    except ValidationError as error:
        raise InvalidInputError(_as_options(validation_problems(error.errors()))) from error


#: What a result on a candidate cannot say: it is on no change.
_PATCHSET_ONLY = ("project", "branch", "revision", "category", "change", "patchset")


async def _report_on_candidate(options: argparse.Namespace, context: CommandContext) -> int:
    candidate = options.candidate.lower()
    given = [f"--{name}" for name in _PATCHSET_ONLY if getattr(options, name) is not None]
    given += [f"--{n.replace('_', '-')}" for n in ("non_voting", "rerun") if getattr(options, n)]
    if given:
        raise UsageError(f"crosscheck-report: {', '.join(given)}: not for a result on a candidate")
    try:
        if options.batch:
            body = CandidateBatchIn.model_validate(json.loads(await context.read_stdin()))
        else:
            fields = {n: getattr(options, n) for n in ("job", "url", "duration", "comment")}
            fields = {n: v for n, v in fields.items() if v is not None}
            body = CandidateBatchIn(
                results=[CandidateResultIn.model_validate(fields | {"value": options.result})]
            )
    except json.JSONDecodeError as error:
        raise UsageError(f"stdin is not JSON: {error}") from error
    except ValidationError as error:
        problems = validation_problems(error.errors())
        raise InvalidInputError(problems if options.batch else _as_options(problems)) from error
    items = [item.to_new(candidate) for item in body.results]
    stored = await context.service.candidates.report(
        context.account, items, claimed=[i.ci for i in body.results], now=datetime.now(UTC)
    )
    return len(stored)


def _batch(text: str) -> list[NewResult]:
    try:
        body = BatchIn.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise UsageError(f"stdin is not JSON: {error}") from error
    except ValidationError as error:
        raise InvalidInputError(validation_problems(error.errors())) from error
    return [item.to_new() for item in body.results]


def _as_options(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    renamed = {"value": "--result", "voting": "--non-voting"}
    return [(renamed.get(where, f"--{where}"), message) for where, message in problems]


__all__ = ["USAGE", "CommandContext", "CommandOutcome", "run_command"]
