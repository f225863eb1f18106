"""Jobs, defined or generated from templates, resolved through their parents."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from crosscheck.config.context import Context
from crosscheck.config.issues import Position, did_you_mean
from crosscheck.config.schema import JobOverrideSpec, JobSpec, RequiredProjectSpec, RunStepSpec
from crosscheck.model.job import (
    DEFAULT_ATTEMPTS,
    DEFAULT_TIMEOUT,
    Job,
    JobScenario,
    RequiredProject,
    RunStep,
)

#: A finding about a job: message ({origin} is filled in), hint, and where if not the job.
Problem = tuple[str, str | None, Position | None]


@dataclass(frozen=True)
class JobSource:
    spec: JobSpec
    body: Any
    position: Position
    #: "job 'x'" or "job-template '{a}-x' for project 'p'", for error messages.
    origin: str
    generated: bool = False


class JobTable:
    """Every job by name, and their resolution through parents."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.sources: dict[str, JobSource] = {}
        self.resolved: dict[str, Job] = {}
        self._failed: set[str] = set()  # reported once; their children fail silently

    def add(self, source: JobSource) -> bool:
        """Add a job; a generated one may repeat only with the very same definition."""
        name = source.spec.name
        first = self.sources.get(name)
        if first is None:
            if not source.generated:
                self.context.define("job", name, source.position)
            self.sources[name] = source
            return True
        if not source.generated and not first.generated:
            self.context.define("job", name, source.position)  # reports "defined twice"
            return False
        if source.generated and first.generated and first.spec == source.spec:
            return True
        hint = (
            "put every list parameter the template uses into its name"
            if source.generated and first.generated
            else "rename one of them"
        )
        self.context.issues.error(
            f"job '{name}' from {source.origin} is also defined by {first.origin} "
            f"(at {first.position}) with a different definition",
            source.position,
            hint,
        )
        return False

    def resolve_all(self) -> dict[str, Job]:
        for name in self.sources:
            self._resolve(name, ())
        return self.resolved

    def _resolve(self, name: str, chain: tuple[str, ...]) -> Job | None:
        if name in self.resolved or name in self._failed:
            return self.resolved.get(name)
        source = self.sources[name]
        if name in chain:
            members = chain[chain.index(name) :]
            self._failed.update(members)
            self.context.issues.error(
                f"jobs inherit from each other in a cycle: {' -> '.join((*members, name))}",
                source.body.position_of("parent"),
                "break the cycle by changing one 'parent'",
            )
            return None
        parent = self._parent(source, (*chain, name)) if source.spec.parent else None
        job = (
            None
            if name in self._failed or (source.spec.parent and parent is None)
            else (merge(parent, source.spec))
        )
        if job is not None and self._check(job, source):
            self.resolved[name] = job
        else:
            self._failed.add(name)
        return self.resolved.get(name)

    def _parent(self, source: JobSource, chain: tuple[str, ...]) -> Job | None:
        parent_name = source.spec.parent or ""
        if parent_name not in self.sources:
            if not self.context.is_broken("job", parent_name):
                self.context.issues.error(
                    f"{source.origin} has unknown parent '{parent_name}'",
                    source.body.position_of("parent"),
                    did_you_mean(parent_name, self.sources),
                )
            return None
        self.context.use("parent", parent_name)
        return self._resolve(parent_name, chain)

    def _check(self, job: Job, source: JobSource) -> bool:
        problems = [
            problem
            for problem in (self._node_problem(job, source), self._run_problem(job))
            if problem
        ]
        for message, hint, position in problems:
            self.context.issues.error(
                message.format(origin=source.origin), position or source.position, hint
            )
        return not problems

    def _node_problem(self, job: Job, source: JobSource) -> Problem | None:
        if job.node is None:
            if job.abstract:
                return None
            return ("{origin} has no node", "set 'node:' to a label, here or in a parent", None)
        self.context.use("label", job.node)
        if job.node in self.context.labels or self.context.is_broken("label", job.node):
            return None
        return (
            "{origin} runs on unknown node label '" + job.node + "'",
            did_you_mean(job.node, self.context.labels)
            or f"declare it with '- label: {{name: {job.node}}}'",
            source.body.position_of("node") if "node" in source.body else None,
        )

    @staticmethod
    def _run_problem(job: Job) -> Problem | None:
        if job.abstract or job.run:
            return None
        return (
            "{origin} has no run steps",
            "add 'run:' (shell lines, or {script: path}), or set 'abstract: true' for a job "
            "that is only a parent",
            None,
        )


#: What a job without a parent inherits: the defaults.
_NEW_JOB = Job(name="", timeout=DEFAULT_TIMEOUT, attempts=DEFAULT_ATTEMPTS)


def merge(parent: Job | None, spec: JobSpec) -> Job:
    """A child's explicitly set values replace its parent's; env is merged."""
    base = parent or _NEW_JOB
    given = spec.model_fields_set
    changes: dict[str, Any] = {
        "name": spec.name,
        "parent": spec.parent,
        "abstract": spec.abstract,
        "env": {**base.env, **spec.env},
        "inherits": ((spec.parent, *base.inherits) if parent and spec.parent else ()),
    }
    for field in ("description", "node", "timeout", "voting", "attempts"):
        if field in given and getattr(spec, field) is not None:
            changes[field] = getattr(spec, field)
    if "run" in given:
        changes["run"] = run_steps(spec.run)
    if "files" in given:
        changes["files"] = tuple(spec.files)
    if "irrelevant_files" in given:
        changes["irrelevant_files"] = tuple(spec.irrelevant_files)
    if "required_projects" in given:
        changes["required_projects"] = required_projects(spec.required_projects)
    if "scenario" in given:
        scenario = spec.scenario
        changes["scenario"] = JobScenario(scenario.name, scenario.level) if scenario else None
    # A job without a parent starts from the defaults: made at once, not copied and replaced.
    return dataclasses.replace(parent, **changes) if parent else Job(**changes)


def apply_overrides(job: Job, overrides: JobOverrideSpec | None) -> Job:
    """The variant of a job one project runs."""
    if overrides is None:
        return job
    changes: dict[str, Any] = {}
    for field in ("description", "node", "timeout", "voting", "attempts"):
        value = getattr(overrides, field)
        if value is not None:
            changes[field] = value
    if overrides.env is not None:
        changes["env"] = {**job.env, **overrides.env}
    if overrides.files is not None:
        changes["files"] = tuple(overrides.files)
    if overrides.irrelevant_files is not None:
        changes["irrelevant_files"] = tuple(overrides.irrelevant_files)
    if overrides.required_projects is not None:
        changes["required_projects"] = required_projects(overrides.required_projects)
    return dataclasses.replace(job, **changes)


def run_steps(specs: list[RunStepSpec]) -> tuple[RunStep, ...]:
    return tuple(RunStep(shell=s.shell, script=s.script) for s in specs)


def required_projects(specs: list[RequiredProjectSpec]) -> tuple[RequiredProject, ...]:
    return tuple(RequiredProject(s.name, s.branch, s.version) for s in specs)
