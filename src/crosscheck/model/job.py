"""Jobs: what runs, where, for how long, and on which changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crosscheck.model.globs import matches_any

DEFAULT_TIMEOUT = 3600
#: Tries of a build that fails for the infrastructure (ERROR, NODE_FAILURE), the first
#: included, as Zuul's default: 1 would turn every Gerrit restart into a report.
DEFAULT_ATTEMPTS = 3


@dataclass(frozen=True)
class RunStep:
    """One step of a job: a shell line, or a script from the workspace."""

    shell: str | None = None
    script: str | None = None


@dataclass(frozen=True)
class RequiredProject:
    """Another project checked out beside the change, at a branch or a pinned version."""

    name: str
    branch: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class JobScenario:
    """A job run inside a scenario: every component beside the change, at the versions of
    the candidate a level holds (the newest candidate when no level is named)."""

    name: str
    level: str | None = None


@dataclass(frozen=True)
class Job:
    """A fully resolved job: inheritance applied, templates expanded."""

    name: str
    description: str = ""
    parent: str | None = None
    node: str | None = None
    run: tuple[RunStep, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: int = DEFAULT_TIMEOUT
    voting: bool = True
    files: tuple[str, ...] = ()
    irrelevant_files: tuple[str, ...] = ()
    required_projects: tuple[RequiredProject, ...] = ()
    attempts: int = DEFAULT_ATTEMPTS
    abstract: bool = False
    scenario: JobScenario | None = None
    #: The chain of parents, nearest first, for `config show` and error messages.
    inherits: tuple[str, ...] = ()

    def is_relevant(self, changed_files: Sequence[str]) -> bool:
        """Whether a patchset touching `changed_files` should run this job.

        With `files`, at least one changed file must match; with `irrelevant_files`,
        at least one changed file must match none of them. An empty file list
        (a merge commit, say) runs the job.
        """
        if not changed_files:
            return True
        if self.files and not any(matches_any(f, self.files) for f in changed_files):
            return False
        return not (
            self.irrelevant_files
            and all(matches_any(f, self.irrelevant_files) for f in changed_files)
        )
