"""What a build needs of a project's mirror, and the one fetch that brings it.

A build names the commits it checks out or merges (each with the ref that brings it),
the branch tips it needs as Gerrit has them now, and when its event was received. A
tip fetched since then is fresh enough: the build sees the branch at least as it
was when the event came, as if it had fetched then. A commit the mirror holds needs
no fetch at all (a patchset's commit never changes). Only what is missing or stale
is fetched; never every branch and tag, unless the build has to choose among them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The heads and tags as Gerrit has them, deleted ones pruned: a build that must
#: choose among branches, or find a commit without knowing its ref.
BRANCHES_AND_TAGS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
#: `fetched_at`'s key for a fetch of every branch and tag.
EVERYTHING = "*"


@dataclass(frozen=True)
class Need:
    """What one build needs of one mirror."""

    #: Commit (or `refs/...` name) -> the ref that brings it; None: any branch or tag.
    commits: Mapping[str, str | None] = field(default_factory=dict)
    #: Refs needed as Gerrit has them now (branch tips), e.g. `refs/heads/master`.
    tips: tuple[str, ...] = ()
    #: Every branch and tag, pruned: the build picks among them.
    everything: bool = False
    #: When its event was received (epoch seconds, this clock): fetched since is fresh.
    since: float = math.inf

    @property
    def named_refs(self) -> list[str]:
        """The refs a failure report names: the commits', else none (the branches)."""
        return [ref for ref in self.commits.values() if ref is not None]


@dataclass(frozen=True)
class Fetch:
    """One `git fetch` into a mirror: exact refs, and perhaps every branch and tag."""

    refs: frozenset[str] = frozenset()
    everything: bool = False

    def covers(self, other: Fetch) -> bool:
        if other.everything and not self.everything:
            return False
        return all(ref in self.refs or self._in_everything(ref) for ref in other.refs)

    def join(self, other: Fetch) -> Fetch:
        return Fetch(self.refs | other.refs, self.everything or other.everything)

    def refspecs(self) -> list[str]:
        return [
            *(BRANCHES_AND_TAGS if self.everything else ()),
            *(f"+{ref}:{ref}" for ref in sorted(self.refs)),
        ]

    def _in_everything(self, ref: str) -> bool:
        return self.everything and ref.startswith(("refs/heads/", "refs/tags/"))


def fresh(fetched_at: Mapping[str, float], ref: str, since: float) -> bool:
    """Whether `ref` was fetched (alone or with every branch and tag) since `since`."""
    alone = fetched_at.get(ref, -math.inf)
    covered = ref.startswith(("refs/heads/", "refs/tags/"))
    with_all = fetched_at.get(EVERYTHING, -math.inf) if covered else -math.inf
    # Strictly after: a fetch begun the instant the event came may not have seen it.
    return max(alone, with_all) > since


def event_time(received_at: float) -> float:
    """When an event was received, as a freshness bound: one stored before that was
    kept (0) is newer than any fetch, so its build always fetches."""
    return float(received_at) if received_at > 0 else math.inf
