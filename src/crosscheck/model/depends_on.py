"""`Depends-On:` footers: which changes a commit message names, and on which Gerrit.

A footer's value is a change's URL, as Zuul has required since v3 when changes live on
more than one Gerrit: a Change-Id does not say which server it belongs to. A URL is
matched to a configured connection by host (and port) and path prefix, whatever its
scheme, then read in any of the forms Gerrit's pages have shown over the years:

    {base}/c/{project}/+/{number}[/{patchset}[/{path}]]
    {base}/c/{number}[/...]
    {base}/#/c/{number}/[...]
    {base}/#/c/{project}/+/{number}[/...]
    {base}/{number}

A value is read as people write it in prose too: `<url>`, `(url)`, or followed by `.`
or `,`. When the URL names the project, `ChangeRef.project` says which, so that the
resolver can refuse a URL whose number is a change of another project.

The value is the author's text, and what is wrong with it is posted on the change by
the CI's account: `shown()` makes it inert before it goes into any message.

Pure: no I/O. `scheduler.dependencies` follows the footers from change to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# Zuul reads the footer on any line of the message, not only in the last paragraph:
# people paste it anywhere, and a footer silently ignored is a build of the wrong thing.
_FOOTER = re.compile(r"^depends-on:[ \t]*(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
_CHANGE_ID = re.compile(r"I[0-9a-f]{8,40}", re.IGNORECASE)
_NUMBER = r"(?P<number>[1-9][0-9]*)"
# The project form first: a project may itself be named like a number.
_ROUTES = (
    re.compile(rf"/c/(?P<project>.+?)/\+/{_NUMBER}(?:/.*)?"),
    re.compile(rf"/c/{_NUMBER}(?:/.*)?"),
    re.compile(rf"/{_NUMBER}/?"),
)
# By hand, not urllib: the model imports no more than the layering test allows. Only what
# a footer needs: userinfo is refused (no Gerrit base has one), the query is dropped.
_URL = re.compile(
    r"(?:(?P<scheme>[a-z][a-z0-9+.-]*):)?//"
    r"(?P<host>\[[0-9a-f:.]+\]|[^/?#:@\[\]]+)(?::(?P<port>[0-9]*))?"
    r"(?P<path>[^?#]*)(?:\?[^#]*)?(?:#(?P<fragment>.*))?",
    re.IGNORECASE | re.DOTALL,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPES = re.compile(r"(?:%[0-9a-f]{2})+", re.IGNORECASE)
EXPECTED_FORM = "{base}/c/<project>/+/<number>"
#: Longer is no Gerrit's URL, and not worth the regular expressions' time.
MAX_URL_LENGTH = 2000

#: How much of an author's value a message shows.
SHOWN_LENGTH = 80
# Line breaks and other control characters (C0, DEL, C1), and the invisible ones that
# reorder or hide text (zero-width, bidirectional controls, line/paragraph separators).
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# Prose around a URL: `<https://host/c/1>`, `(https://host/c/1).`, `"https://host/c/1",`
_LEADING = "(\"'"
_TRAILING = ".,;:)!?'\""


class DependsOnError(ValueError):
    """A `Depends-On:` value that names no change crosscheck can find; says how to fix it."""


@dataclass(frozen=True)
class ChangeRef:
    """A change as a footer names it: which Gerrit, which number.

    `project` is the project the URL names, if it names one (decoded, as Gerrit names
    it); it is what the footer SAYS, not part of which change it is: two footers naming
    one change by different URLs are equal.
    """

    connection: str
    number: int
    project: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """`upstream:12345`: change numbers repeat across Gerrits, so the name goes first."""
        return f"{self.connection}:{self.number}"


@dataclass(frozen=True)
class _Base:
    connection: str
    url: str
    netloc: tuple[str, int | None]
    path: str


@dataclass(frozen=True)
class _Url:
    #: Host and port, scheme left out: http and https links to one Gerrit are one Gerrit.
    netloc: tuple[str, int | None]
    path: str
    fragment: str


def depends_on_urls(commit_message: str) -> list[str]:
    """The values of the message's `Depends-On:` footers, each once, in order."""
    values = (match.group(1).strip() for match in _FOOTER.finditer(commit_message))
    return list(dict.fromkeys(value for value in values if value))


def change_url(base: str, project: str, number: int) -> str:
    """The canonical URL of a change, as Gerrit links it today."""
    return f"{base.rstrip('/')}/c/{project}/+/{number}"


def shown(value: str) -> str:
    """An author's `value` as a message posted on a change may show it: inert.

    Gerrit renders comments as Markdown, so the value goes in a code span (no link, no
    markup, no HTML), without a backtick of its own to close it early; without line
    breaks or other control characters (nor in the log); and cut to SHOWN_LENGTH.
    """
    text = _UNSHOWN.sub("", value).replace("`", "'").strip()
    if len(text) > SHOWN_LENGTH:
        text = f"{text[: SHOWN_LENGTH - 1]}\u2026"
    return f"`{text}`" if text else "(an empty value)"


def parse_change_url(value: str, bases: Mapping[str, str]) -> ChangeRef:
    """The change `value` names, on the connection (of `bases`, name -> http_url) it is on.

    Raises DependsOnError for a Change-Id, a URL of no configured Gerrit, or a URL of a
    configured Gerrit that is not a change's.
    """
    if len(value) > MAX_URL_LENGTH:
        raise DependsOnError(
            f"{shown(value)} is too long to be a change's URL "
            f"({len(value)} characters, at most {MAX_URL_LENGTH})"
        )
    bare = _unwrapped(value)
    if _CHANGE_ID.fullmatch(bare):
        raise DependsOnError(_change_id_message(value, bases))
    url = _split(bare) if bare else None
    base = None if url is None else _base_of(url, bases)
    if url is None or base is None:
        raise DependsOnError(_unknown_gerrit_message(value, bases))
    route = _route_in(url, base)
    if route is None:
        # In a code span too: Markdown would take `<project>` for an HTML tag, and drop it.
        form = EXPECTED_FORM.format(base=base.url.rstrip("/"))
        raise DependsOnError(f"{shown(value)} is not a change's URL: expected `{form}`")
    number, project = route
    return ChangeRef(base.connection, number, project)


def _unwrapped(value: str) -> str:
    """`value` without the prose around it: `<url>`, `(url)`, `url).`"""
    while True:
        bare = value.strip().lstrip(_LEADING).rstrip(_TRAILING).strip()
        if bare.startswith("<") and bare.endswith(">"):
            bare = bare[1:-1]
        if bare == value:
            return bare
        value = bare


def _split(value: str) -> _Url | None:
    # Zuul accepts a URL without its scheme (`review.example.org/c/1`); so do we.
    match = _URL.fullmatch(value if "://" in value else f"//{value}")
    if match is None:
        return None
    scheme, port = (match.group("scheme") or "").lower(), match.group("port")
    # A URL without its scheme may have either scheme's default port.
    defaults = {_DEFAULT_PORTS[scheme]} if scheme in _DEFAULT_PORTS else _DEFAULT_PORTS.values()
    number = int(port) if port else None
    if number in defaults:
        number = None
    netloc = (match.group("host").lower(), number)
    # `{base}/` + `/c/...` pasted together gives `//c/`: web servers and Gerrit read it
    # as one slash, and so do we.
    path = re.sub("/{2,}", "/", match.group("path")).rstrip("/")
    return _Url(netloc, path, match.group("fragment") or "")


def _bases(bases: Mapping[str, str]) -> list[_Base]:
    found = []
    for connection, url in bases.items():
        parts = _split(url)
        if parts is not None:
            found.append(_Base(connection, url, parts.netloc, parts.path))
    return found


def _base_of(url: _Url, bases: Mapping[str, str]) -> _Base | None:
    """The connection whose base URL `url` is under; the longest path prefix wins, so
    that Gerrits at `https://host` and `https://host/other` stay apart."""
    under = [
        base
        for base in _bases(bases)
        if base.netloc == url.netloc
        and (url.path == base.path or url.path.startswith(f"{base.path}/"))
    ]
    return max(under, key=lambda base: len(base.path), default=None)


def _route_in(url: _Url, base: _Base) -> tuple[int, str | None] | None:
    """The change number the URL's route names, and its project if it names one."""
    route = url.path[len(base.path) :]
    if not route and url.fragment.startswith("/"):
        # The old single-page UI kept the route in the fragment: `{base}/#/c/12345/`.
        route = url.fragment
    for pattern in _ROUTES:
        match = pattern.fullmatch(route)
        if match:
            project = match.groupdict().get("project")
            return int(match.group("number")), None if project is None else _decoded(project)
    return None


def _decoded(text: str) -> str:
    """`text` with its %-escapes read as UTF-8, as Gerrit reads a project in its URLs."""
    return _ESCAPES.sub(
        lambda m: bytes.fromhex(m.group().replace("%", "")).decode("utf-8", "replace"), text
    )


def _configured(bases: Mapping[str, str]) -> str:
    # Names only: the message is posted on a public change, and the URLs of the other
    # Gerrits are the operator's to give (they are in the configuration).
    if not bases:
        return "no Gerrit is configured"
    return f"connections: {', '.join(bases)}"


def _unknown_gerrit_message(value: str, bases: Mapping[str, str]) -> str:
    return f"{shown(value)} is not on a Gerrit this CI is connected to ({_configured(bases)})"


def _change_id_message(value: str, bases: Mapping[str, str]) -> str:
    example = EXPECTED_FORM.format(base=next(iter(bases.values()), "https://<gerrit>").rstrip("/"))
    return (
        f"{shown(value)} is a Change-Id, which does not say which Gerrit the change is on: "
        f"write the change's URL instead (`{example}`), as Zuul has required since v3"
    )
