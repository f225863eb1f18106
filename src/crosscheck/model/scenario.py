"""Scenarios: named integrations of components, their levels of tests and release channels.

A scenario is what OPNFV calls one (`os-nosdn-nofeature`): several projects, each at a
branch tip, a tag or a pinned SHA, tested together. Its levels form one chain from
the first (no level below) up; a release channel qualifies candidates that reached
one of them. The configuration checks what a user wrote; the checks here catch only
programming errors (a builder that forgot to order the levels, say).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from crosscheck.model.candidate import SHA
from crosscheck.model.promotion import Level

#: A full commit id: candidates pin exact versions, never abbreviations.


class RefKind(StrEnum):
    """Where a component is taken from: a branch's tip moves, a tag or a SHA does not."""

    BRANCH = "branch"
    TAG = "tag"
    SHA = "sha"


@dataclass(frozen=True)
class Component:
    """A project on a connection, or a plain git URL (upstreams not on Gerrit), at a ref."""

    name: str
    ref_kind: RefKind
    ref: str
    connection: str | None = None
    project: str | None = None
    git_url: str | None = None

    def __post_init__(self) -> None:
        on_gerrit = self.connection is not None and self.project is not None
        if on_gerrit == (self.git_url is not None):
            raise ValueError(f"component {self.name!r}: a connection and project, or a git URL")
        if self.ref_kind is RefKind.SHA and not SHA.match(self.ref):
            raise ValueError(f"component {self.name!r}: {self.ref!r} is not a full commit id")

    @property
    def pinned(self) -> bool:
        """A pinned component never moves: merges on its branch make no new candidate."""
        return self.ref_kind is not RefKind.BRANCH


@dataclass(frozen=True)
class ReleaseChannel:
    """`developer`, `stable`: a candidate qualifies once it reached `level`."""

    name: str
    level: str

    def qualifies(self, reached: Iterable[str]) -> bool:
        return self.level in set(reached)


@dataclass(frozen=True)
class Scenario:
    """Components, levels ordered from the first (no level below) up, and channels."""

    name: str
    components: tuple[Component, ...]
    levels: tuple[Level, ...] = ()
    channels: tuple[ReleaseChannel, ...] = ()
    description: str = ""
    #: A cron schedule (UTC) at which a candidate of the components' refs is taken.
    snapshot: str | None = None

    def __post_init__(self) -> None:
        _unique("component", (c.name for c in self.components))
        _unique("level", (level.name for level in self.levels))
        _unique("release channel", (c.name for c in self.channels))
        for index, level in enumerate(self.levels):
            expected = self.levels[index - 1].name if index else None
            if level.below != expected:
                raise ValueError(f"level {level.name!r} is out of the chain's order")
        for channel in self.channels:
            self.level(channel.level)  # a KeyError: a channel from no level of this scenario

    def component(self, name: str) -> Component:
        return _named(self.components, name, "component")

    def level(self, name: str) -> Level:
        return _named(self.levels, name, "level")

    def level_above(self, name: str) -> Level | None:
        """The level a candidate at `name` may be promoted to next, if any."""
        return next((level for level in self.levels if level.below == name), None)


def _unique(kind: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{kind} {name!r} appears twice")
        seen.add(name)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def _named(items: Iterable[N], name: str, kind: str) -> N:
    found = next((item for item in items if item.name == name), None)
    if found is None:
        raise KeyError(f"no {kind} {name!r}")
    return found
