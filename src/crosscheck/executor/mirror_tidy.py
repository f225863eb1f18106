"""A mirror's tidy-up, now and then after a fetch, under the mirror's lock.

A mirror keeps a ref for every patchset it fetched. Every fetch reads them all twice
(what the mirror has, then whether what came is complete: `rev-list --not --all`), and
every workspace's clone lists them: loose, unindexed and unbounded, they made each
fetch slower than the last (60 against 30 ms at 400 refs), and a CI on a busy
project would gather tens of thousands in a year. So the tidy-up:

- forgets the refs of all but the newest `keep` changes (by number), and those this
  process fetched lately (a build may be about to read them). The commits stay in the
  mirror until git's gc prunes unreachable objects, two weeks later by default, so a
  recheck of an old change finds them, or fetches its ref again;
- packs the refs, and the loose objects the fetches left (a small fetch is unpacked
  into loose objects, and git's own gc waits for 6,700 of them);
- runs git's gc when git thinks it due (in the foreground: a detached gc would outlive
  the lock), and indexes the commits (commit-graph).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path

from crosscheck.executor.git import Git

#: Changes whose refs a mirror keeps, the newest by number.
KEEP_CHANGES = 1000
_CHANGE_REF = re.compile(r"refs/changes/\d+/(\d+)/")


async def tidy(git: Git, path: Path, keep: int, recent: Collection[str]) -> None:
    """Tidy the mirror at `path`; `recent` are refs that must stay whatever their age."""
    listed = await git.run("for-each-ref", "--format=%(refname)", "refs/changes/", cwd=path)
    stale = stale_change_refs(listed.split(), keep, recent)
    if stale:
        commands = "".join(f"delete {ref}\n" for ref in stale)
        await git.run("update-ref", "--no-deref", "--stdin", cwd=path, stdin=commands)
    await git.run("pack-refs", "--all", cwd=path)
    await git.run("repack", "-d", "-q", cwd=path)
    await git.run("-c", "gc.autoDetach=false", "gc", "--auto", "--quiet", cwd=path)
    await git.run("commit-graph", "write", "--reachable", cwd=path)


def stale_change_refs(refs: Iterable[str], keep: int, recent: Collection[str]) -> list[str]:
    """The change refs among `refs` not of the newest `keep` changes, nor in `recent`."""
    by_change: dict[int, list[str]] = {}
    for ref in refs:
        found = _CHANGE_REF.match(ref)
        if found is not None:
            by_change.setdefault(int(found.group(1)), []).append(ref)
    older = sorted(by_change, reverse=True)[keep:]
    return [ref for number in older for ref in by_change[number] if ref not in recent]
