"""What Gerrit's Checks tab needs of a results service's settings: the Gerrit origins whose
pages may read the API from a browser, and the comment that asks each CI to run again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from crosscheck.model.account_text import account_name_problem

#: A rerun comment is posted as the user on every Rerun click: one short line.
MAX_RERUN_COMMENT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an http(s) URL exactly as a browser sends it in `Origin`:
    lower case, an international name in punycode, the scheme's default port left out."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").encode("idna").decode("ascii")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = parts.port
    return f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS.get(scheme)) else f":{port}")


def parse_origins(
    data: object, gerrit_url: str | None, where: str = "gerrit-origins"
) -> tuple[str, ...]:
    """The origins allowed to read from a browser; gerrit-url's own when none are given."""
    if data is None:
        return (origin_of(gerrit_url),) if gerrit_url else ()
    if not isinstance(data, list):
        raise ValueError(
            f"{where}: expected a list of origins like [https://review.example.org], "
            f"not {type(data).__name__}"
        )
    problems = [
        f"{where}[{index}]: {problem}"
        for index, item in enumerate(data)
        if (problem := origin_problem(item)) is not None
    ]
    if problems:
        raise ValueError("\n".join(problems))
    return tuple(dict.fromkeys(origin_of(str(item)) for item in data))


def origin_problem(item: object) -> str | None:
    """Why `item` is no origin (None when it is one)."""
    if not isinstance(item, str):
        return f"{item!r} is not text: write an origin like https://review.example.org"
    parts = urlsplit(item.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{item!r} is not an http:// or https:// origin like https://review.example.org"
    if parts.username or parts.password:
        return f"{item!r} holds credentials: an origin is only scheme://host[:port]"
    try:
        origin = origin_of(item)
    except ValueError:  # a port out of range; UnicodeError: a name IDNA cannot spell
        return f"{item!r} has a bad port or host name"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return (
            f"{item!r} has a path: a browser's Origin is only scheme://host[:port], "
            f"so write {origin}"
        )
    return None


def parse_rerun_comments(data: object, where: str = "rerun-comments") -> dict[str, str]:
    """`{CI account: comment}`; a ValueError names every bad entry."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(
            f"{where}: expected a mapping of CI account name to its rerun comment, "
            f"for example `Acme CI: recheck acme`, not {type(data).__name__}"
        )
    problems: list[str] = []
    for name, comment in data.items():
        problem = _rerun_problem(name, comment)
        if problem:
            problems.append(f"{where}.{name}: {problem}")
    if problems:
        raise ValueError("\n".join(problems))
    return {str(name): str(comment).strip() for name, comment in data.items()}


def _rerun_problem(name: object, comment: object) -> str | None:
    if not isinstance(name, str):
        return "the CI account name must be text"
    problem = account_name_problem(name)
    if problem:
        return problem
    if not isinstance(comment, str) or not comment.strip():
        return "expected the comment that makes this CI run again, like `recheck`"
    if _CONTROL.search(comment.strip()) or len(comment.strip()) > MAX_RERUN_COMMENT:
        return f"the rerun comment must be one line of at most {MAX_RERUN_COMMENT} characters"
    return None


def service_url_problem(url: str) -> str | None:
    """Why a results service's address as browsers reach it is unusable, or None; a path
    is kept (a service behind a prefix)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an http:// or https:// address like https://ci.example.org"
    if parts.query or parts.fragment:
        return f"{url!r} has a query or a fragment: give the service's address alone"
    return origin_problem(f"{parts.scheme}://{parts.netloc}")
