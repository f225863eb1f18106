"""Strings no store can hold, refused before any route sees them: 422, located.

A lone surrogate (JSON allows `"\\ud800"`) cannot be encoded as UTF-8, and
PostgreSQL's text holds no NUL character: either would fail deep in the store as a
500. `refuse_unstorable`, a dependency of every results router and the pages
(results/app.py), refuses them in JSON bodies, paths and query parameters, with the
located error body naming the field (`results[3].job`, `job (query parameter)`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.types import Scope

from crosscheck.http.errors import LocatedHTTPError
from crosscheck.http.problems import describe


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "must not hold a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not hold a lone surrogate (\\ud800 to \\udfff): it is not valid Unicode"
    return None


def json_problems(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(field, reason) for each unstorable string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        reason = unstorable(value)
        if reason is not None:
            yield where or "body", reason
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            located = f"{where}.{key}".lstrip(".")
            reason = unstorable(key)
            if reason is not None:
                yield (where or "body"), f"a key {reason}"
                continue
            yield from json_problems(item, located)


def request_problems(scope: Scope) -> list[tuple[str, str]]:
    """Unstorable strings in the path or the query string (the body is checked apart)."""
    problems: list[tuple[str, str]] = []
    reason = unstorable(str(scope.get("path", "")))
    if reason is not None:
        problems.append(("path", reason))
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        reason = unstorable(name) or unstorable(value)
        if reason is not None:
            problems.append((f"{name.replace(chr(0), '?')} (query parameter)", reason))
    return problems


async def refuse_unstorable(request: Request) -> None:
    """A router dependency: runs before the route's own parameters and body are read."""
    problems = request_problems(request.scope)
    if request.method in ("POST", "PUT", "PATCH"):
        # Starlette keeps the body: the route reads it again for free.
        problems += _body_problems(await request.body())
    if problems:
        raise LocatedHTTPError(422, describe(problems), problems)


#: What a body needs to hold an unstorable string once decoded: a `\\u` escape, a NUL
#: (UTF-16 and UTF-32 bodies have them), or 0xED (UTF-8's lead byte of the surrogates,
#: which json.loads lets through).
_MAYBE_UNSTORABLE = re.compile(rb"\\u|[\x00\xed]")
#: Fewer brackets than this cannot nest too deeply for json.loads or the walk.
_SHALLOW = 256


def _body_problems(body: bytes) -> list[tuple[str, str]]:
    if not body or _plainly_storable(body):
        return []
    try:
        return list(json_problems(json.loads(body)))
    except ValueError:
        return []  # not JSON: the route says what it expects
    except RecursionError:
        return [("body", "is nested too deeply")]


def _plainly_storable(body: bytes) -> bool:
    """Most bodies (a batch of 100 results) need no decoding to know: that decoding and
    the walk cost more than storing them."""
    if _MAYBE_UNSTORABLE.search(body) is not None:
        return False
    return body.count(b"[") + body.count(b"{") < _SHALLOW
