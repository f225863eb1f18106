"""What an item is built with beyond its own change, decided once when it is planned.

Every job of the item sees the same: the changes its `Depends-On:` footers name (on any
configured Gerrit), and the versions of each scenario its jobs run in. The report's
scenario line and the builds' workspaces are both made from it, so what the report says
is what was built.
"""

from __future__ import annotations

from dataclasses import dataclass

from crosscheck.model.events import CandidateComponent


def change_label(connection: str, number: int, patchset: int) -> str:
    """`upstream:12345,2`: a patchset, unambiguous across Gerrits."""
    return f"{connection}:{number},{patchset}"


@dataclass(frozen=True)
class Dependency:
    """A change a `Depends-On:` footer names, as its Gerrit showed it when planned."""

    connection: str
    project: str
    branch: str
    number: int
    patchset: int
    revision: str
    #: The patchset's ref, fetched into the workspace (`refs/changes/45/12345/2`).
    ref: str
    url: str
    #: NEW (merged into the workspace) or MERGED (already on its branch: nothing to do).
    status: str

    @property
    def merged(self) -> bool:
        return self.status == "MERGED"

    @property
    def label(self) -> str:
        """`upstream:12345,2`: short, and unambiguous across Gerrits."""
        return change_label(self.connection, self.number, self.patchset)


@dataclass(frozen=True)
class ScenarioVersions:
    """The versions of a scenario's components an item's jobs run with."""

    scenario: str
    #: The level whose candidate was taken; None for the scenario's newest candidate.
    level: str | None
    #: The candidate's id; None when no candidate existed and the components' configured
    #: refs (branch tips, tags, pinned commits) were resolved instead.
    candidate: str | None
    components: tuple[CandidateComponent, ...]
    #: The level the jobs named (None: the newest candidate); when it held nothing yet,
    #: `level` is None and the newest candidate was taken.
    asked: str | None = None

    def component_for(self, connection: str, project: str) -> CandidateComponent | None:
        for component in self.components:
            if component.connection == connection and component.project == project:
                return component
        return None


@dataclass(frozen=True)
class ItemContext:
    #: Deepest first: a change is merged after what it depends on.
    dependencies: tuple[Dependency, ...] = ()
    scenarios: tuple[ScenarioVersions, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.dependencies and not self.scenarios

    @property
    def distinct_scenarios(self) -> tuple[ScenarioVersions, ...]:
        """One per set of versions: jobs naming two levels of a scenario that held one
        candidate ran with the same versions, said once."""
        found: dict[tuple[object, ...], ScenarioVersions] = {}
        for versions in self.scenarios:
            key = (versions.scenario, versions.candidate, versions.components)
            found.setdefault(key, versions)
        return tuple(found.values())

    def scenario(self, name: str, asked: str | None = None) -> ScenarioVersions | None:
        """The versions jobs naming scenario `name` at level `asked` run with."""
        return next((s for s in self.scenarios if (s.scenario, s.asked) == (name, asked)), None)
