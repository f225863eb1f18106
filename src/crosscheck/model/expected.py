"""Which CI accounts a project expects on every patchset, so pages can say who is missing.

A rule maps a project pattern (a glob, or a regex starting with ^, as for allowed
projects) to CI account names; a project expects every account of every rule it
matches, in the order written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crosscheck.model.account_text import (
    account_name_problem,
    project_allowed,
    project_pattern_problem,
)


@dataclass(frozen=True)
class ExpectedCIs:
    rules: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def for_project(self, project: str) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for pattern, accounts in self.rules:
            if project_allowed((pattern,), project):
                names.update(dict.fromkeys(accounts))
        return tuple(names)

    def missing(self, project: str, reported: Iterable[str]) -> tuple[str, ...]:
        """The expected accounts that are not among `reported`, in the order written."""
        seen = set(reported)
        return tuple(name for name in self.for_project(project) if name not in seen)


def parse_expected_cis(data: object, where: str = "expected-cis") -> ExpectedCIs:
    """Rules from `{pattern: [account, ...]}`; a ValueError names every bad entry."""
    if data is None:
        return ExpectedCIs()
    if not isinstance(data, Mapping):
        raise ValueError(
            f"{where}: expected a mapping of project pattern to CI account names, "
            f"for example `openstack/*: [Acme CI]`, not {type(data).__name__}"
        )
    problems: list[str] = []
    rules: list[tuple[str, tuple[str, ...]]] = []
    for pattern, names in data.items():
        problems += _rule_problems(where, pattern, names)
        if isinstance(pattern, str) and isinstance(names, list):
            rules.append((pattern, tuple(str(name) for name in names)))
    if problems:
        raise ValueError("\n".join(problems))
    return ExpectedCIs(tuple(rules))


def _rule_problems(where: str, pattern: object, names: object) -> list[str]:
    if not isinstance(pattern, str):
        return [f"{where}: project pattern {pattern!r} must be text"]
    problem = project_pattern_problem(pattern)
    if problem:
        return [f"{where}.{pattern}: {problem}"]
    if not isinstance(names, list) or not names:
        return [f"{where}.{pattern}: expected a list of CI account names, like [Acme CI]"]
    found = [account_name_problem(name) if isinstance(name, str) else "not text" for name in names]
    return [
        f"{where}.{pattern}[{index}]: {problem}"
        for index, problem in enumerate(found)
        if problem is not None
    ]
