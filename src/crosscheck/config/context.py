"""What the configuration checker knows while it works through the elements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from crosscheck.config.issues import IssueList, Position
from crosscheck.drivers.config import DriverConfig
from crosscheck.model.config import CISettings, ExecutorSettings, NodeLabel, ResultsConfig
from crosscheck.model.connection import GerritConnection
from crosscheck.model.node import Lab
from crosscheck.model.pipeline import Pipeline

if TYPE_CHECKING:
    # Only named: a configuration without scenarios never loads the promotion model.
    from crosscheck.model.scenario import Scenario

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class Entry(Generic[S]):
    """A validated element, its raw YAML (with positions) and where it was defined."""

    spec: S
    body: Any
    position: Position


@dataclass
class Context:
    issues: IssueList
    ci: CISettings = field(default_factory=CISettings)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    results: ResultsConfig = field(default_factory=ResultsConfig)
    connections: dict[str, GerritConnection] = field(default_factory=dict)
    #: Each connection's driver, which checks and builds the triggers on it.
    drivers: dict[str, DriverConfig[Any, Any]] = field(default_factory=dict)
    labels: dict[str, NodeLabel] = field(default_factory=dict)
    lab: Lab = field(default_factory=Lab)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    #: (scenario, level) -> where the level is written, for the warnings about it.
    level_positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    #: Names referenced somewhere, per kind, for the unused-element warnings.
    used: dict[str, set[str]] = field(default_factory=dict)
    #: Elements whose own definition had errors: references to them stay silent, so one
    #: mistake is reported once, not again as "unknown" wherever the element is used.
    broken: set[tuple[str, str]] = field(default_factory=set)
    #: Files with an item not read as far as its name (their errors reported): any name
    #: may be defined there, so
    #: references to unknown names stay silent until they read, rather than each
    #: repeating the one syntax error as "unknown" elsewhere.
    unreadable: tuple[Path, ...] = ()
    #: The names of items that were no element (`- jbo: {name: x}`), silent the same way.
    lost_names: set[str] = field(default_factory=set)
    _defined: dict[tuple[str, str], Position] = field(default_factory=dict)

    def define(self, kind: str, name: str, position: Position) -> bool:
        """Claim a name for one element of a kind; a second claim is an error."""
        first = self._defined.get((kind, name))
        if first is not None:
            self.issues.error(
                f"{kind} '{name}' is defined twice (first at {first})",
                position,
                "rename one of them, or remove the duplicate",
            )
            return False
        self._defined[(kind, name)] = position
        return True

    def position_of(self, kind: str, name: str) -> Position | None:
        return self._defined.get((kind, name))

    def defined(self, kind: str) -> list[str]:
        return [name for (k, name) in self._defined if k == kind]

    def connections_hint(self) -> str:
        """What to write instead of an unknown connection's name, when no near name is."""
        if not self.connections:
            return "no connection is defined: add a '- connection:' element"
        return "connections: " + ", ".join(sorted(self.connections))

    def is_broken(self, kind: str, name: str) -> bool:
        return bool(self.unreadable) or name in self.lost_names or (kind, name) in self.broken

    def use(self, kind: str, name: str) -> None:
        self.used.setdefault(kind, set()).add(name)
