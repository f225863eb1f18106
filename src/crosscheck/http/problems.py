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
    if tuple(error.get("loc") or ()) == ("body",):
        whole = _whole_body(error)
        if whole is not None:
            return "body", whole
    message = str(error["msg"])
    if error.get("type") == "value_error":  # our own validators' words, without the label
        message = message.removeprefix("Value error, ")
    return field_path(error["loc"]), message


#: pydantic's types for "a model was given something other than an object".
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "model_type", "dict_type"})


def _whole_body(error: Any) -> str | None:
    """A body that is absent or not a JSON object, said in the terms of the fix:
    pydantic's "valid dictionary" means nothing to a curl user sending a form."""
    if error.get("type") == "missing":
        return "the request has no body: send a JSON object"
    if error.get("type") not in _NOT_AN_OBJECT:
        return None
    given = error.get("input")
    if isinstance(given, bytes | bytearray):
        # FastAPI hands over the raw bytes of a body not sent as application/json.
        return "not read as JSON: send a JSON object with Content-Type: application/json"
    return f"expected a JSON object, got {_json_kind(given)}"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__
