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

import re
from collections.abc import Collection, Iterable
from pathlib import Path

from crosscheck.executor.git import Git

#: Changes whose refs a mirror keeps, the newest by number.
KEEP_CHANGES = 1000
#: Seconds a tidy-up step may take: a first geometric roll-up of a large mirror, under
#: its lock, rewrites most of its packs once.
STEP_TIMEOUT = 3600.0
_CHANGE_REF = re.compile(r"refs/changes/\d+/(\d+)/")


async def tidy(git: Git, path: Path, keep: int, recent: Collection[str]) -> int:
    """Tidy the mirror at `path`; `recent` are refs that must stay whatever their age.
    Returns how many change refs it forgot."""
    listed = await git.run("for-each-ref", "--format=%(refname)", "refs/changes/", cwd=path)
    stale = stale_change_refs(listed.split(), keep, recent)
    if stale:
        commands = "".join(f"delete {ref}\n" for ref in stale)
        await git.run("update-ref", "--no-deref", "--stdin", cwd=path, stdin=commands)
    await git.run("pack-refs", "--all", cwd=path)
    await git.run("repack", "-d", "-q", "--geometric=2", cwd=path, timeout=STEP_TIMEOUT)
    await git.run("commit-graph", "write", "--reachable", "--split", cwd=path, timeout=STEP_TIMEOUT)
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
