"""Entity tags of the change page's JSON twin: a client that polls a change sends back the
tag it holds (`If-None-Match`) and gets a bodiless 304 while the change has no new result.

The tag names the change's results by their count and highest id (results are only ever
added), and the pages' settings and crosscheck's code (http/shaping.py), which also
shape the document: a restart with other expected CIs, or on other code or templates,
changes every tag.
"""

from __future__ import annotations

import hashlib

from crosscheck.config.pages import PagesSettings
from crosscheck.http.shaping import code_digest
from crosscheck.results.reads import ChangeVersion


def settings_tag(settings: PagesSettings) -> str:
    """What, beyond the results, a change document depends on, in a few characters."""
    shaping = repr((code_digest(), settings.expected_cis, settings.gerrit_url))
    return hashlib.blake2b(shaping.encode(), digest_size=6).hexdigest()


def change_etag(version: ChangeVersion, settings: str) -> str:
    """A strong tag (quoted, RFC 9110): the same bytes whenever it is the same."""
    return f'"{version.results}.{version.newest_id}.{settings}"'


def html_etag(etag: str) -> str:
    """The tag of a change's page, made from the JSON tagged `etag`: another
    representation, so another strong tag."""
    return etag.removesuffix('"') + '-html"'
