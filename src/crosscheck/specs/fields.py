"""Field types shared by elements: names, regexes, durations, globs, branches, ports.

Each is an `Annotated` type whose validator raises ValueError with the message the
operator reads (config/validation.py puts it at the value's file:line:column).
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from crosscheck.model.globs import compile_glob

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")
#: What git refuses in a branch name (git check-ref-format), patterns' characters among them.
BAD_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[/.-]|[/.]$|\.lock$")
DURATION = re.compile(r"^(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
#: A period may also count days: a soak time or the age of promotion evidence.
PERIOD = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")


def as_list(value: Any) -> Any:
    """The shorthand of a one-item list: a single string (or mapping) where a list is allowed."""
    return [value] if isinstance(value, str | dict) else value


def _name(value: str) -> str:
    if "{" in value or "}" in value:
        raise ValueError(
            f"{value!r} holds a placeholder that no parameter filled: define "
            "the parameter, or check its spelling"
        )
    if not NAME_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: start with a letter or digit, then "
            "letters, digits, '.', '_', '-', '+' or '/'"
        )
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"invalid regular expression {value!r}: {error}") from error
    return value


def _duration(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a duration is seconds (3600) or a text like '1h30m', '90m', '45s'")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return _duration_text(value)
    raise _not_a_duration(value)


# Every job made from one template repeats its template's timeout: 4,000 jobs, one text.
@functools.lru_cache(maxsize=256)
def _duration_text(value: str) -> int:
    match = DURATION.match(value.strip())
    if not match or not any(match.groups()):
        raise _not_a_duration(value)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _not_a_duration(value: object) -> ValueError:
    return ValueError(f"{value!r} is not a duration: use seconds (3600) or '1h30m', '90m', '45s'")


def _period(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("a period is seconds (3600) or a text like '2d', '1h30m', '90m', '45s'")
    if isinstance(value, int):
        return value
    match = PERIOD.match(value.strip())
    if not match or not any(match.groups()):
        raise ValueError(
            f"{value!r} is not a period: use seconds (3600) or '2d', '1d12h', '90m', '45s'"
        )
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _branch(value: str) -> str:
    if value.startswith("refs/"):
        short = value.removeprefix("refs/heads/")
        raise ValueError(f"{value!r}: give the branch's name, e.g. {short!r}")
    if not value or BAD_BRANCH.search(value):
        raise ValueError(
            f"{value!r} is not a branch name: branches are exact names, not patterns, "
            "e.g. [master, stable/2024.1]"
        )
    return value


def _glob(value: str) -> str:
    if value.startswith("^") or value.endswith("$") or ".*" in value:
        raise ValueError(
            f"{value!r} looks like a regular expression, but files are globs: write "
            "'neutron/**' for '^neutron/.*$', and '*.rst' for '^.*\\.rst$'"
        )
    compile_glob(value)
    return value


_SIZE = re.compile(r"(\d+)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(value: Any) -> Any:
    """Bytes, from a number of bytes or a text like '20G', '500M' (powers of 1024);
    'none' is 0."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("a size is bytes (1073741824), a text like '20G' or '500M', or 'none'")
    if isinstance(value, int):
        return value
    if value.strip().lower() == "none":
        return 0
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a size: use bytes, '20G', '500M', '4T', or 'none'")
    return int(match[1]) * _UNITS[match[2].upper()]


Name = Annotated[str, AfterValidator(_name)]
Regex = Annotated[str, AfterValidator(_regex)]
#: Seconds, written as a number or as '1h30m', '90m', '45s'.
Duration = Annotated[int, BeforeValidator(_duration), Field(gt=0)]
#: Seconds, written as a number or as '2d', '1d12h', '90m', '45s'.
Period = Annotated[int, BeforeValidator(_period), Field(gt=0)]
Glob = Annotated[str, AfterValidator(_glob)]
#: Bytes, written as a number or as '20G', '500M'; 'none' (0) for no limit.
Size = Annotated[int, BeforeValidator(_size), Field(ge=0)]
#: A branch's exact short name (`master`, not `refs/heads/master`, not a pattern).
Branch = Annotated[str, AfterValidator(_branch)]
Port = Annotated[int, Field(ge=1, le=65535)]
