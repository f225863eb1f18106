"""The Checks tab's answers, kept as sent until the change or an account's page moves.

The Gerrit plugin polls the patchset on screen, for every reviewer who has the change
open: the same answer, again and again, while nothing changes. An answer is made from
the patchset's results (current while the change's version is the same: results are
only ever added) and the CI accounts' info URLs; both are asked for in one connection,
two index-sized reads, and the kept bytes are sent while neither moved. A browser's
fetch revalidates with the entity tag (a 304), and takes the body gzipped.

The key holds what the request chose (change, patchset, project, and the base its
links use when it links to pages); nothing is kept for a change without results, and
each kept answer counts its key and a kilobyte beyond its bytes, so a flood of
distinct requests stays within the bound.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from fastapi import Response

from crosscheck.http.kept_bodies import KeptBodies, KeptBody, not_modified
from crosscheck.results.reads import ChangeVersion, change_version, info_urls
from crosscheck.results.service import ResultsService

#: Bytes of Checks answers kept (a 200-result patchset: about 70 KB).
MAX_BYTES = 8 * 1024 * 1024
#: What each kept answer is counted beyond its bytes: its key and the store's entry.
ENTRY_COST = 1024


@dataclass(frozen=True)
class Asked:
    change: int
    patchset: int
    project: str | None
    #: The service's address as the answer's links use it.
    base: str


class KeptChecks:
    def __init__(self, service: ResultsService, shaping: Hashable = ()) -> None:
        """`shaping`: what else shapes every answer (the settings, the digest of
        crosscheck's code, http/shaping.py), in its entity tag: a restart with other
        settings or on other code changes every tag, and a browser's copy of the old
        answer is not confirmed."""
        self.service = service
        self.bodies = KeptBodies(MAX_BYTES)
        self._shaping = shaping

    async def answer(
        self,
        asked: Asked,
        make: Callable[[], Awaitable[bytes]],
        if_none_match: str | None,
        gzipped: bool,
    ) -> Response:
        """The kept answer to `asked` while it is current, else `make()`'s, kept."""
        version, pages = await self._moved(asked.change)
        shaped_by: Hashable = (version, pages)
        etag = _etag(asked, (shaped_by, self._shaping))
        held = not_modified(if_none_match, etag, gzipped)
        if held is not None:
            return held
        made = self.bodies.get(asked, shaped_by)
        if made is None:
            made = KeptBody(shaped_by, await make(), etag, cost=_cost(asked))
            if version is not None:
                self.bodies.keep(asked, made)
        return self.bodies.answer(asked, made, gzipped)

    async def _moved(self, change: int) -> tuple[ChangeVersion | None, Hashable]:
        """What an answer on `change` is made from: the change's version, and every
        account's info URL (each CI's link in the tab)."""
        async with self.service.engine.connect() as connection:
            return await change_version(connection, change), await info_urls(connection)


def _cost(asked: Asked) -> int:
    """What an entry holds beyond its body: its key's strings (a Host header can be
    long) and the store's own."""
    return ENTRY_COST + len(asked.base) + len(asked.project or "")


def _etag(asked: Asked, shaped_by: Hashable) -> str:
    digest = hashlib.blake2b(repr((asked, shaped_by)).encode(), digest_size=9).hexdigest()
    return f'"checks.{digest}"'
