"""A mirror's tidy-up, now and then after a fetch, under the mirror's lock.

A mirror keeps a ref for every patchset it fetched. Every fetch reads them all twice
(what the mirror has, then whether what came is complete: `rev-list --not --all`), and
every workspace's clone lists them: loose, unindexed and unbounded, they made each
fetch slower than the last (60 against 30 ms at 400 refs), and a CI on a busy project
would gather tens of thousands in a year. So the tidy-up:

- forgets the refs of all but the newest `keep` changes (by number), and those this
  process fetched lately (a build may be about to read them);
- packs the refs, and the objects: the loose ones small fetches leave and the small
  packs rolled up geometrically (`repack --geometric`), so a pack is rewritten only when
  those after it outgrow it, never the whole mirror at once;
- indexes the commits, incrementally (a split commit-graph).

It prunes nothing, and runs no gc: a forgotten change's commits stay in the mirror,
packed, as they did when its ref kept them. A workspace on this host borrows the
mirror's objects (`clone --shared`): a build of a change whose ref is forgotten while
it runs, an hour-long recheck of an old change say, must not lose them, and a recheck
finds them without a fetch. Objects are small beside the refs' cost; a project's
history is kept whole anyway.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Iterable
from pathlib import Path

from crosscheck.executor.git import Git, GitError

#: Changes whose refs a mirror keeps, the newest by number.
KEEP_CHANGES = 1000
#: Seconds a tidy-up may hold its mirror's lock: less than another process waits for the
#: lock before it gives up (mirror_files.LOCK_GIVE_UP), so that a tidy-up never turns a
#: build into an infrastructure error. A first geometric roll-up of a large mirror can
#: take longer: cut short (git's lock files and temporary packs are cleared the next
#: time), the next tidy-up takes it up from where it got.
TIDY_DEADLINE = 600.0
_CHANGE_REF = re.compile(r"refs/changes/\d+/(\d+)/")


async def tidy(git: Git, path: Path, keep: int, recent: Collection[str]) -> int:
    """Tidy the mirror at `path`; `recent` are refs that must stay whatever their age.
    Returns how many change refs it forgot."""
    try:
        async with asyncio.timeout(TIDY_DEADLINE):
            return await _tidy_steps(git, path, keep, recent)
    except TimeoutError:
        raise GitError(
            f"the tidy-up took longer than {TIDY_DEADLINE:.0f} s and was stopped; the next "
            "one goes on from there"
        ) from None


async def _tidy_steps(git: Git, path: Path, keep: int, recent: Collection[str]) -> int:
    listed = await git.run("for-each-ref", "--format=%(refname)", "refs/changes/", cwd=path)
    stale = stale_change_refs(listed.split(), keep, recent)
    if stale:
        commands = "".join(f"delete {ref}\n" for ref in stale)
        await git.run("update-ref", "--no-deref", "--stdin", cwd=path, stdin=commands)
    await git.run("pack-refs", "--all", cwd=path)
    await git.run("repack", "-d", "-q", "--geometric=2", cwd=path)
    await git.run("commit-graph", "write", "--reachable", "--split", cwd=path)
    return len(stale)


def stale_change_refs(refs: Iterable[str], keep: int, recent: Collection[str]) -> list[str]:
    """The change refs among `refs` not of the newest `keep` changes, nor in `recent`."""
    by_change: dict[int, list[str]] = {}
    for ref in refs:
        found = _CHANGE_REF.match(ref)
        if found is not None:
            by_change.setdefault(int(found.group(1)), []).append(ref)
    older = sorted(by_change, reverse=True)[keep:]
    return [ref for number in older for ref in by_change[number] if ref not in recent]
