"""What a CI account's name, texts and addresses may hold, and which projects it may
report on.

Apart from the results model (model/results.py) because the configuration checks these
too: `crosscheck config check` loads these rules without the results' classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

MAX_ACCOUNT_NAME = 100
#: An email address or an http(s) URL: how to reach a CI's operators.
MAX_CONTACT = 200
MAX_INFO_URL = 2000

#: CI account names appear in URLs, HTTP basic auth and SSH user names: no ':' or '/'.
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+@-]*$")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Bidirectional embeddings, overrides and isolates: "\u202egnp.exe" reads "exe.png".
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
MARKUP = re.compile(r"[<>]")
WEB_ADDRESS = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
#: What an account's web address may not hold unencoded.
UNQUOTED = re.compile(r'[<>"]')
#: Deliberately narrow: pages turn it into a mailto: link, so nothing but an address.
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def plain_text_problem(value: str, limit: int) -> str | None:
    """Why owner-like text is unacceptable: too long, or markup or control characters.

    Pages escape everything, but API readers receive the text as it is stored.
    """
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if CONTROL.search(value):
        return "must not hold control characters (newlines, tabs, ...)"
    if MARKUP.search(value):
        return "must be plain text: < and > are not accepted"
    if BIDI.search(value):
        return "must not hold bidirectional override characters (U+202A-U+202E, U+2066-U+2069)"
    return None


def info_url_problem(url: str) -> str | None:
    """Why a CI account's info URL is unacceptable, or None ("" means none)."""
    if url == "":
        return None
    if len(url) > MAX_INFO_URL:
        return f"is longer than {MAX_INFO_URL} characters"
    if not WEB_ADDRESS.match(url):
        return "must be an http:// or https:// address without spaces (or empty)"
    return _quoting_problem(url)


def _quoting_problem(address: str) -> str | None:
    """An account's addresses reach API readers as stored: none may break out of an
    HTML attribute there (RFC 3986 has them percent-encoded anyway)."""
    if UNQUOTED.search(address):
        return 'must not hold <, > or " (percent-encode them: %3C, %3E, %22)'
    return None


def contact_problem(contact: str) -> str | None:
    """Why a CI account's contact is unacceptable, or None ("" means none).

    Pages link it (mailto: or the URL itself), so only these two shapes are kept.
    """
    if contact == "":
        return None
    if len(contact) > MAX_CONTACT:
        return f"is longer than {MAX_CONTACT} characters"
    if EMAIL.match(contact):
        return None
    if WEB_ADDRESS.match(contact):
        return _quoting_problem(contact)
    return "must be an email address or an http:// or https:// address (or empty)"


def contact_link(contact: str) -> str | None:
    """The link a page gives a contact: mailto: for an address, the URL itself, else None."""
    if EMAIL.match(contact):
        return f"mailto:{contact}"
    if WEB_ADDRESS.match(contact):
        return contact
    return None


def account_name_problem(name: str) -> str | None:
    """Why a CI account name is not acceptable, or None."""
    if not name or len(name) > MAX_ACCOUNT_NAME:
        return f"a CI account name has 1 to {MAX_ACCOUNT_NAME} characters"
    if not ACCOUNT_NAME.match(name) or name != name.strip():
        return (
            f"CI account name {name!r}: use letters, digits, spaces and . _ + @ - "
            "(starting with a letter or digit)"
        )
    return None


def project_pattern_problem(pattern: str) -> str | None:
    """Why an allowed-project pattern is unusable, or None."""
    if not pattern.strip():
        return "an allowed-project pattern is empty"
    if pattern.startswith("^"):
        try:
            re.compile(pattern)
        except re.error as error:
            return f"allowed-project regex {pattern!r} is invalid: {error}"
    return None


def project_allowed(patterns: Iterable[str], project: str) -> bool:
    """A pattern is a glob (`openstack/*`, `*` crosses `/`) or, starting with ^, a regex."""
    for pattern in patterns:
        if pattern.startswith("^"):
            if re.match(pattern, project):
                return True
        elif fnmatchcase(project, pattern):
            return True
    return False
