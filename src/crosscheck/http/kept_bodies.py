"""Answers kept as sent, until what they were made from moves.

A change's page, its JSON twin and its Checks tab are read again and again while
nothing changes on the change: a dashboard polling, the reviewers of a busy change, a
tab left open, the Gerrit plugin polling the patchset on screen. Reading the results
and shaping them costs in proportion to the change (1,000 results: about 20 ms);
asking whether the change moved costs one index lookup. So each answer's bytes are
kept with the version they were made from (the change's result count and newest id),
and sent while the version is the same. Results are only ever added, so a kept body is
never wrong for its version. The HTML page is kept too: made from the JSON, it took
20 ms to render for 1,000 results on every read, on the event loop.

A client that takes gzip (every browser, httpx, curl --compressed) gets the body
compressed: a 1,000-result change's 200 KB of JSON go as about 10 KB, as Gerrit sends
its own change, and its 550 KB page as 10 KB. It is compressed once per version, on
the first such read, and kept beside it, under an entity tag of its own.

Bounded by bytes, the least recently read first out: a burst of reads of many changes
holds at most `max_bytes` of bodies, compressed ones counted too. Only the bytes are
kept (the document they were made from, a dict per cell, took 3.7 times their size).
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from fastapi import Response

from crosscheck.http.html_errors import refuses

#: Bytes of bodies kept, all answers of a store together (a 1,000-result change's JSON:
#: ~250 KB).
MAX_BYTES = 16 * 1024 * 1024
_NONE: Mapping[str, str] = MappingProxyType({})


#: Fast enough to compress a 200 KB body in about a millisecond, once per version; a
#: higher level saves a few hundred bytes more.
GZIP_LEVEL = 1


@dataclass
class KeptBody:
    #: What the body was made from: it is current while this is.
    version: Hashable
    #: The JSON bytes, as sent.
    body: bytes
    etag: str
    #: The same bytes gzipped, once a client took them so.
    gzipped: bytes | None = field(default=None, repr=False)
    #: Counted against the bound beyond the bytes (its key and entry, when those are
    #: many and small).
    cost: int = 0
    media_type: str = "application/json"
    #: Sent with the body and its 304s (a page's security headers).
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + self.cost


def takes_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip: named without q=0, or else `*`
    without q=0 (gzip's own entry decides over `*`'s)."""
    taken: dict[str, bool] = {}
    for coding in (accept_encoding or "").lower().split(","):
        name, *parameters = (part.strip() for part in coding.split(";"))
        taken.setdefault("gzip" if name == "x-gzip" else name, not any(map(refuses, parameters)))
    return taken.get("gzip", taken.get("*", False))


def gzip_etag(etag: str) -> str:
    """The tag of the gzipped bytes: a strong tag names one representation (RFC 9110
    8.8.3), so the compressed body's differs from the plain one's."""
    return etag.removesuffix('"') + '-gzip"'


class KeptBodies:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[Hashable, KeptBody] = OrderedDict()
        self._bytes = 0
        #: Reads answered from a kept body, and those that were not (for the benches).
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def held(self) -> int:
        """Bytes held, as the bound counts them."""
        return self._bytes

    def get(self, key: Hashable, version: Hashable) -> KeptBody | None:
        """The body kept under `key` when it was made from `version`; None otherwise."""
        kept = self._kept.get(key)
        if kept is None or kept.version != version:
            self.misses += 1
            return None
        self._kept.move_to_end(key)
        self.hits += 1
        return kept

    def keep(self, key: Hashable, made: KeptBody) -> None:
        if made.size > self.max_bytes:
            return
        self._forget(key)
        self._kept[key] = made
        self._bytes += made.size
        self._within_bound(keeping=key)

    def gzipped(self, key: Hashable, made: KeptBody) -> bytes:
        """`made`'s body gzipped: compressed on the first call, then kept with it (when
        it is still the body kept under `key`)."""
        if made.gzipped is not None:
            return made.gzipped
        packed = gzip.compress(made.body, GZIP_LEVEL, mtime=0)
        if made.size + len(packed) > self.max_bytes:
            return packed  # kept, it would push its own plain body out: made again each time
        made.gzipped = packed
        if self._kept.get(key) is made:
            self._bytes += len(packed)
            self._within_bound(keeping=key)
        return packed

    def answer(self, key: Hashable, made: KeptBody, gzipped: bool) -> Response:
        """`made` as sent: gzipped, under its own tag, to a client that takes gzip."""
        if not gzipped:
            headers = made.headers | tagged(made.etag)
            return Response(made.body, media_type=made.media_type, headers=headers)
        headers = made.headers | tagged(gzip_etag(made.etag)) | {"Content-Encoding": "gzip"}
        return Response(self.gzipped(key, made), media_type=made.media_type, headers=headers)

    def _within_bound(self, keeping: Hashable) -> None:
        while self._bytes > self.max_bytes and self._kept:
            oldest = next(iter(self._kept))
            self._forget(oldest)
            if oldest == keeping:
                return

    def _forget(self, key: Hashable) -> None:
        gone = self._kept.pop(key, None)
        if gone is not None:
            self._bytes -= gone.size


def tagged(etag: str) -> dict[str, str]:
    """The headers of a kept answer or its 304."""
    # no-cache: a browser may keep the copy, and asks again each time (answered by a 304).
    # Vary: a cache keeps the gzipped and the plain body apart.
    return {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}


def not_modified(
    if_none_match: str | None, etag: str, gzipped: bool, headers: Mapping[str, str] = _NONE
) -> Response | None:
    """A 304 when the client holds the current body in the coding it asks for now (the
    tag of the representation chosen, RFC 9110 13.1.2); None otherwise."""
    chosen = gzip_etag(etag) if gzipped else etag
    if if_none_match is None or not none_match(if_none_match, chosen):
        return None
    return Response(status_code=304, headers={**headers, **tagged(chosen)})


def none_match(header: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` or is `*` (weak comparison, as RFC
    9110 asks for this header: a `W/` prefix is ignored)."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))
