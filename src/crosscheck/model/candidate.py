"""Candidates: one immutable set of component versions of a scenario, named by its content."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SHA = re.compile(r"^[0-9a-f]{40}$")
#: A candidate's id: the sha256 of its versions, in lower-case hex.
CANDIDATE_ID = re.compile(r"^[0-9a-f]{64}$")
#: Scenario and component names are config names: no tab or newline, so the encoding
#: below cannot be ambiguous. Checked here because a caller could pass anything.
_SEPARATORS = re.compile(r"[\t\n]")
#: Bumped if the encoding ever changes, so an old hash can never mean a new set.
ENCODING = "crosscheck-candidate-v1"


@dataclass(frozen=True)
class Candidate:
    """A scenario's components, each at one commit (component name -> 40-hex SHA).

    Its `id` is the sha256, in lower-case hex, of this UTF-8 text:

        crosscheck-candidate-v1\\n
        scenario\\t<scenario name>\\n
        <component name>\\t<sha>\\n        one line per component, sorted by name

    So the same versions of the same scenario always have the same id, whatever order
    they were given in, and two scenarios sharing versions never share a candidate.
    """

    scenario: str
    versions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.versions or _SEPARATORS.search(self.scenario):
            raise ValueError(f"a candidate of {self.scenario!r} needs components and a plain name")
        for component, sha in self.versions.items():
            if _SEPARATORS.search(component) or not SHA.match(sha):
                raise ValueError(f"component {component!r} at {sha!r}: not a full commit id")
        # A sorted copy of its own: the caller's dict changing later changes no candidate.
        object.__setattr__(self, "versions", dict(sorted(self.versions.items())))

    @property
    def id(self) -> str:
        lines = [ENCODING, f"scenario\t{self.scenario}"]
        lines += [f"{component}\t{sha}" for component, sha in self.versions.items()]
        text = "".join(f"{line}\n" for line in lines)
        return hashlib.sha256(text.encode()).hexdigest()

    def moved(self, component: str, sha: str) -> Candidate:
        """The next candidate after a merge on one component: the others stay where they are."""
        if component not in self.versions:
            raise KeyError(f"{self.scenario!r} has no component {component!r}")
        return Candidate(self.scenario, {**self.versions, component: sha})

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Candidate):
            return NotImplemented
        return self.id == other.id


class CandidateOrigin(StrEnum):
    """What made a candidate."""

    #: A change merged (or a ref updated) on one of the scenario's components.
    MERGE = "merge"
    #: A timer took a snapshot of the components' branch tips.
    TIMER = "timer"
    #: `crosscheck candidate create`.
    OPERATOR = "operator"


@dataclass(frozen=True)
class CandidateRecord:
    """A candidate as the store keeps it: when it was first recorded, and from what.

    Candidates are ordered by `created_at`, ties broken by id (`newness`): a level's
    pointer never moves to an older one unless an operator demotes it.
    """

    candidate: Candidate
    origin: str
    created_at: datetime

    @property
    def id(self) -> str:
        return self.candidate.id

    @property
    def newness(self) -> tuple[datetime, str]:
        return (self.created_at, self.candidate.id)
