"""Change pages kept as sent, until the change has a new result.

A change's page is read again and again while nothing changes on it: a dashboard
polling, the reviewers of a busy change, a tab left open. Reading its results and
shaping them costs in proportion to the change (1,000 results: about 20 ms); asking
whether the change moved costs one index lookup (`change_version`). So each change's
JSON bytes are kept with the version they were made from, and served while the
version is the same; the HTML page is made from them. Results are only ever added, so
a kept body is never wrong for its version.

A client that takes gzip (every browser, httpx, curl --compressed) gets the body
compressed: a 1,000-result change's 200 KB go as about 10 KB, as Gerrit sends its own
change. It is compressed once per version, on the first such read, and kept beside it.

Bounded by bytes, the least recently read change first out: a burst of reads of many
changes holds at most `max_bytes` of bodies, compressed ones counted too. Only the
bytes are kept (the document they were made from, a dict per cell, took 3.7 times
their size).
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from dataclasses import dataclass, field

from crosscheck.http.html_errors import refuses
from crosscheck.results.reads import ChangeVersion

#: Bytes of JSON bodies kept, all changes together (a 1,000-result change: ~250 KB).
MAX_BYTES = 16 * 1024 * 1024


#: Fast enough to compress a 200 KB body in about a millisecond, once per version; a
#: higher level saves a few hundred bytes more.
GZIP_LEVEL = 1


@dataclass
class ChangeBody:
    version: ChangeVersion
    #: The JSON twin's bytes, as sent.
    body: bytes
    etag: str
    #: The same bytes gzipped, once a client took them so.
    gzipped: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


def takes_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip (named, or `*`, and not with q=0)."""
    for coding in (accept_encoding or "").lower().split(","):
        name, *parameters = (part.strip() for part in coding.split(";"))
        if name in ("gzip", "x-gzip", "*"):
            return not any(refuses(p) for p in parameters)
    return False


def gzip_etag(etag: str) -> str:
    """The tag of the gzipped bytes: a strong tag names one representation (RFC 9110
    8.8.3), so the compressed body's differs from the plain one's."""
    return etag.removesuffix('"') + '-gzip"'


class ChangeBodies:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[int, ChangeBody] = OrderedDict()
        self._bytes = 0
        #: Reads answered from a kept body, and those that were not (for the benches).
        self.hits = 0
        self.misses = 0

    def get(self, change: int, version: ChangeVersion) -> ChangeBody | None:
        """The change's body when it was made from `version`; None otherwise."""
        kept = self._kept.get(change)
        if kept is None or kept.version != version:
            self.misses += 1
            return None
        self._kept.move_to_end(change)
        self.hits += 1
        return kept

    def keep(self, change: int, made: ChangeBody) -> None:
        if made.size > self.max_bytes:
            return
        self._forget(change)
        self._kept[change] = made
        self._bytes += made.size
        self._within_bound(keeping=change)

    def gzipped(self, change: int, made: ChangeBody) -> bytes:
        """`made`'s body gzipped: compressed on the first call, then kept with it (when
        it is still the change's kept body)."""
        if made.gzipped is None:
            made.gzipped = gzip.compress(made.body, GZIP_LEVEL, mtime=0)
            if self._kept.get(change) is made:
                self._bytes += len(made.gzipped)
                self._within_bound(keeping=change)
        return made.gzipped

    def _within_bound(self, keeping: int) -> None:
        while self._bytes > self.max_bytes and self._kept:
            oldest = next(iter(self._kept))
            self._forget(oldest)
            if oldest == keeping:
                return

    def _forget(self, change: int) -> None:
        gone = self._kept.pop(change, None)
        if gone is not None:
            self._bytes -= gone.size
