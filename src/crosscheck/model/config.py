"""A whole, valid configuration: the aggregate the scheduler runs from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crosscheck.model.connection import GerritConnection
from crosscheck.model.job import Job
from crosscheck.model.pipeline import Pipeline
from crosscheck.model.project import Project


@dataclass(frozen=True)
class CISettings:
    """Who this CI is in its reports."""

    name: str = "crosscheck"
    #: `run <run_name>` in a review comment re-runs this CI's jobs only.
    run_name: str = "crosscheck"
    info_url: str | None = None


@dataclass(frozen=True)
class NodeLabel:
    name: str
    description: str = ""


@dataclass(frozen=True)
class Config:
    ci: CISettings = field(default_factory=CISettings)
    connections: Mapping[str, GerritConnection] = field(default_factory=dict)
    labels: Mapping[str, NodeLabel] = field(default_factory=dict)
    pipelines: Mapping[str, Pipeline] = field(default_factory=dict)
    jobs: Mapping[str, Job] = field(default_factory=dict)
    projects: tuple[Project, ...] = ()

    def projects_for(self, project: str) -> tuple[Project, ...]:
        """The project entries that apply to a Gerrit project, exact names first."""
        exact = tuple(p for p in self.projects if not p.is_regex and p.matches(project))
        return exact + tuple(p for p in self.projects if p.is_regex and p.matches(project))
