"""Releases: a candidate that qualified for a channel, named, tagged and written down.

A release is cut outside any cadence: whenever a release manager asks, from the
newest candidate that reached the channel's level. Each component on Gerrit is tagged
`<scenario>/<channel>/<name>` at its version; a plain git URL is not ours to tag, and
the manifest says so. The manifest pins every component's version, so anyone can
rebuild the release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crosscheck.model.candidate import CandidateRecord
from crosscheck.model.scenario import Scenario

#: One path component of a git ref that every git and Gerrit accept, kept simple.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a release (and its tags), or None."""
    if not _NAME.match(name) or ".." in name or name.endswith((".lock", ".")):
        return (
            f"{name!r} cannot name a release: use letters, digits, '.', '_' and '-' "
            "(up to 100, starting with a letter or digit, no '..' and no '.lock' or '.' "
            "at the end), e.g. 2026.12.1"
        )
    return None


def default_name(today: datetime, taken: Iterable[str]) -> str:
    """`YYYY.MM.DD`, then `YYYY.MM.DD.2`, ... when a release of the day exists."""
    base = f"{today:%Y.%m.%d}"
    used = set(taken)
    if base not in used:
        return base
    return next(f"{base}.{n}" for n in range(2, len(used) + 3) if f"{base}.{n}" not in used)


def tag_name(scenario: str, channel: str, name: str) -> str:
    return f"{scenario}/{channel}/{name}"


@dataclass(frozen=True)
class ComponentPin:
    """One component of a release: where it lives, its version, and its tag (if tagged)."""

    component: str
    sha: str
    connection: str | None = None
    project: str | None = None
    git_url: str | None = None
    #: The tag made on Gerrit (refs/tags/...); None for a plain git URL.
    tag: str | None = None

    def as_data(self) -> dict[str, str]:
        """As a manifest lists it (the keys a user wrote in the scenario)."""
        fields = (
            ("name", self.component),
            ("connection", self.connection),
            ("project", self.project),
            ("git", self.git_url),
            ("sha", self.sha),
            ("tag", self.tag),
        )
        return {key: value for key, value in fields if value is not None}


@dataclass(frozen=True)
class Release:
    scenario: str
    channel: str
    name: str
    level: str
    candidate: str
    created_at: datetime
    by: str
    components: tuple[ComponentPin, ...] = field(default_factory=tuple)

    def manifest(self) -> dict[str, Any]:
        """The pinned versions, as YAML and JSON write them."""
        return {
            "release": self.name,
            "scenario": self.scenario,
            "channel": self.channel,
            "qualified_at_level": self.level,
            "candidate": self.candidate,
            "created_at": self.created_at.isoformat(),
            "created_by": self.by,
            "components": [pin.as_data() for pin in self.components],
        }


def pins_of(scenario: Scenario, record: CandidateRecord, tag: str | None) -> list[ComponentPin]:
    """Each component of the candidate, tagged `tag` when it is on Gerrit."""
    pins = []
    for component in scenario.components:
        sha = record.candidate.versions.get(component.name)
        if sha is None:  # a component added to the scenario after this candidate
            continue
        on_gerrit = component.git_url is None
        pins.append(
            ComponentPin(
                component.name,
                sha,
                connection=component.connection,
                project=component.project,
                git_url=component.git_url,
                tag=f"refs/tags/{tag}" if on_gerrit and tag is not None else None,
            )
        )
    return pins
