"""Change pages kept as sent, until the change has a new result.

A change's page is read again and again while nothing changes on it: a dashboard
polling, the reviewers of a busy change, a tab left open. Reading its results and
shaping them costs in proportion to the change (1,000 results: about 20 ms); asking
whether the change moved costs one index lookup (`change_version`). So each change's
JSON bytes are kept with the version they were made from, and served while the
version is the same; the HTML page is made from them. Results are only ever added, so
a kept body is never wrong for its version.

Bounded by bytes, the least recently read change first out: a burst of reads of many
changes holds at most `max_bytes` of bodies. Only the bytes are kept (the document
they were made from, a dict per cell, took 3.7 times their size).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from crosscheck.results.reads import ChangeVersion

#: Bytes of JSON bodies kept, all changes together (a 1,000-result change: ~250 KB).
MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ChangeBody:
    version: ChangeVersion
    #: The JSON twin's bytes, as sent.
    body: bytes
    etag: str


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
        if len(made.body) > self.max_bytes:
            return
        self._forget(change)
        self._kept[change] = made
        self._bytes += len(made.body)
        while self._bytes > self.max_bytes:
            self._forget(next(iter(self._kept)))

    def _forget(self, change: int) -> None:
        gone = self._kept.pop(change, None)
        if gone is not None:
            self._bytes -= len(gone.body)
