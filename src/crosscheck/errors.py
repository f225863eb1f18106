"""Errors crosscheck raises on purpose, each with a message a user can act on.

    CrosscheckError                 every error crosscheck raises on purpose; the CLI prints
    │                               its message, no traceback
    ├── PrerequisiteError           a tool crosscheck needs (Java, Maven, git) is missing or too old
    └── ConfigInvalidError          a configuration has errors (each with file:line:column)

The families of the layers live with them, each below CrosscheckError:
`drivers.base` (DriverError, DriverNotFoundError: what the engine may catch from any
driver), `drivers.gerrit.errors` (the Gerrit family), `sandbox.errors` (the sandbox
and the demo), `operator.errors` and `results.errors` (each with its HTTP status).
Each message names what went wrong, where, and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


class CrosscheckError(Exception):
    """Base of every error crosscheck raises on purpose."""


class PrerequisiteError(CrosscheckError):
    """A tool crosscheck needs is missing or too old."""


class ConfigInvalidError(CrosscheckError):
    """A configuration has errors; `issues` holds every one of them."""

    def __init__(self, issues: Sequence[object], note: str | None = None) -> None:
        self.issues = list(issues)
        listing = "\n".join(str(issue) for issue in self.issues)
        after = f"\nnote: {note}" if note else ""
        super().__init__(f"the configuration has {len(self.issues)} error(s):\n{listing}{after}")


def said(error: BaseException) -> str:
    """The error as a log line names it: its kind, and its message when it has one.
    A timeout often has none ("TimeoutError: " read as if a word were missing)."""
    kind, text = type(error).__name__, str(error).strip()
    if text:
        return f"{kind}: {text}"
    timed_out = isinstance(error, TimeoutError) or kind.endswith("Timeout")  # httpx's too
    return f"{kind} (no answer in time)" if timed_out else kind


#: What a terminal or a log reader acts on rather than shows: C0 and C1 controls (line
#: breaks, ESC), DEL, the bidirectional marks and overrides, and the line and paragraph
#: separators. No-break spaces, soft hyphens and emoji joiners are text, and stay.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text: str, limit: int | None = None) -> str:
    """`text` (its first `limit` characters) safe for a terminal and a log line: what a
    terminal would act on is written as its escape (`\\x1b`, `\\n`, `\\u202e`).
    Another server's error text may hold escape sequences that retitle or clear an
    operator's terminal, or a line break that forges a log entry."""
    cut = text if limit is None else text[:limit]
    return _UNSAFE.sub(lambda found: repr(found.group())[1:-1], cut)


__all__ = ["ConfigInvalidError", "CrosscheckError", "PrerequisiteError", "printable", "said"]
