"""One line from an error answer, for the messages of crosscheck's HTTP clients
(the result reporters, `crosscheck report`, the operator commands).

The results service and `crosscheck serve` answer `{"detail": message, "errors":
[{field, message}]}` (errors.py); an app without those handlers answers
FastAPI's `{"detail": [{loc, msg}, ...]}`, and a proxy in between text or HTML.
"""

from __future__ import annotations

from typing import Any

import httpx

from crosscheck.errors import printable
from crosscheck.http.problems import describe, field_path

#: Text that is not the service's located problems is cut here (a proxy's HTML page).
MAX_LENGTH = 500


def error_message(answer: httpx.Response) -> str:
    """The located problems, each once; else the detail; else the start of the body:
    printable, as the server's words go to a terminal or a log."""
    return printable(_message(answer))


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return _cut(answer.text) or "(no message)"
    if not isinstance(body, dict):
        return _cut(str(body))
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return describe([_located(error) for error in errors])
    detail = body.get("detail", body)
    if isinstance(detail, list):
        return describe([_validation_problem(problem) for problem in detail])
    return _cut(str(detail))


def _located(error: Any) -> tuple[str, str]:
    if not isinstance(error, dict):
        return "", str(error)
    return str(error.get("field") or ""), str(error.get("message"))


def _validation_problem(problem: Any) -> tuple[str, str]:
    if not isinstance(problem, dict) or not isinstance(problem.get("loc"), list):
        return "", str(problem)
    return field_path(problem["loc"]), str(problem.get("msg"))


def _cut(text: str) -> str:
    return " ".join(text.split())[:MAX_LENGTH]
