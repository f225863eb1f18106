"""Located problems, the `(field, message)` pairs every error body and client message
is made of: their one-line form, and FastAPI's locations as field paths.

Plain functions, no web framework: the SSH commands and the HTTP clients state
problems as the web apps do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def describe(problems: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{where}: {message}" if where else message for where, message in problems)


def field_path(location: Sequence[str | int]) -> str:
    """("body", "results", 3, "value") -> "results[3].value"."""
    parts = list(location)
    where = ""
    if parts and parts[0] in ("query", "path", "header"):
        return f"{'.'.join(str(p) for p in parts[1:])} ({parts[0]} parameter)"
    if parts and parts[0] == "body":
        parts = parts[1:]
    for part in parts:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where.lstrip(".") or "body"


def validation_problems(errors: Sequence[Any]) -> list[tuple[str, str]]:
    return [_problem(error) for error in errors]


def _problem(error: Any) -> tuple[str, str]:
    # A body that is not JSON is located by FastAPI at ("body", character offset):
    # shown as "[12]", it would read as the 13th item of an array.
    if error.get("type") == "json_invalid":
        offset = error["loc"][-1] if error["loc"] else 0
        why = (error.get("ctx") or {}).get("error") or error["msg"]
        return "body", f"not valid JSON at character {offset}: {why}"
    return field_path(error["loc"]), str(error["msg"])
