"""Path globs for job file filters: `*` stays within a directory, `**` crosses them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a glob (`*`, `**`, `?`, `[abc]`) to an anchored regular expression.

    A pattern without a slash matches the file name in any directory, as in
    .gitignore, so `*.rst` matches `doc/source/index.rst`.
    """
    body = _translate(pattern)
    if "/" not in pattern:
        body = f"(?:.*/)?{body}"
    return re.compile(f"^{body}$")


def _translate(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                raise ValueError(f"unclosed '[' in glob {pattern!r}")
            out.append("[" + pattern[index + 1 : end].replace("!", "^", 1) + "]")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    return any(compile_glob(pattern).match(path) for pattern in patterns)
