"""Problems found in a configuration, each pointing at the line to fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Position:
    """A place in a file, 1-based like compilers and editors print it."""

    path: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class ConfigIssue:
    severity: Severity
    message: str
    position: Position | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.position}: " if self.position else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{where}{self.severity.value}: {self.message}{hint}"

    def sort_key(self) -> tuple[str, int, int, str]:
        if self.position is None:
            return ("", 0, 0, self.message)
        return (str(self.position.path), self.position.line, self.position.column, self.message)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, when one is close enough to be a typo."""
    close = difflib.get_close_matches(word, sorted(set(candidates) - {word}), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class IssueList:
    """Collects issues while a configuration is checked, so all are reported at once."""

    def __init__(self) -> None:
        self.items: list[ConfigIssue] = []
        self._seen: set[ConfigIssue] = set()

    def error(
        self, message: str, position: Position | None = None, hint: str | None = None
    ) -> None:
        self._add(ConfigIssue(Severity.ERROR, message, position, hint))

    def warning(
        self, message: str, position: Position | None = None, hint: str | None = None
    ) -> None:
        self._add(ConfigIssue(Severity.WARNING, message, position, hint))

    def _add(self, issue: ConfigIssue) -> None:
        # A template used by many projects would otherwise repeat the same finding.
        if issue not in self._seen:
            self._seen.add(issue)
            self.items.append(issue)

    @property
    def errors(self) -> list[ConfigIssue]:
        return sorted(
            (i for i in self.items if i.severity is Severity.ERROR), key=ConfigIssue.sort_key
        )

    @property
    def warnings(self) -> list[ConfigIssue]:
        return sorted(
            (i for i in self.items if i.severity is Severity.WARNING), key=ConfigIssue.sort_key
        )
