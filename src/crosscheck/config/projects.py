"""The `project`, `project-template` and `job-template` elements.

A project lists, per pipeline, the jobs it runs: jobs by name, or job templates,
which it instantiates with its parameters. Project templates bring ready-made
lists of both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel

from crosscheck.config.context import Context, Entry
from crosscheck.config.issues import Position, did_you_mean
from crosscheck.config.jobs import JobSource, JobTable, apply_overrides
from crosscheck.config.schema import (
    JOB_OVERRIDES,
    JobOverrideSpec,
    JobSpec,
    JobTemplateSpec,
    ProjectPipelineSpec,
    ProjectSpec,
    ProjectTemplateSpec,
)
from crosscheck.config.templates import MissingParameterError, combinations, placeholders, render
from crosscheck.config.validation import validate
from crosscheck.config.yaml_source import Node, NodeList
from crosscheck.model.job import Job
from crosscheck.model.project import Project


class RawJob(NamedTuple):
    """A job entry as written in a project's list, and where."""

    value: Any
    position: Position


@dataclass(frozen=True)
class JobRef:
    """One entry of a project's job list, after template expansion."""

    name: str
    overrides: JobOverrideSpec | None
    position: Position


@dataclass(frozen=True)
class ProjectPlan:
    spec: ProjectSpec
    connection: str | None
    pipelines: dict[str, list[JobRef]]


class ProjectBuilder:
    def __init__(self, context: Context, table: JobTable) -> None:
        self.context = context
        self.table = table
        self.job_templates: dict[str, Entry[JobTemplateSpec]] = {}
        self.project_templates: dict[str, Entry[ProjectTemplateSpec]] = {}

    def add_templates(
        self,
        job_templates: list[Entry[JobTemplateSpec]],
        project_templates: list[Entry[ProjectTemplateSpec]],
    ) -> None:
        for job_template in job_templates:
            name = job_template.spec.name
            if self.context.define("job-template", name, job_template.position):
                self.job_templates[name] = job_template
        for project_template in project_templates:
            name = project_template.spec.name
            if self.context.define("project-template", name, project_template.position):
                self.project_templates[name] = project_template
                self._pipeline_lists(project_template, f"project-template '{name}'")

    def plan(self, entry: Entry[ProjectSpec]) -> ProjectPlan | None:
        """Expand one project's job lists; generated jobs go into the job table."""
        spec = entry.spec
        what = f"project '{spec.name}'"
        if not self.context.define("project", spec.name, entry.position):
            return None
        self._check_name(entry)
        connection = self._connection(entry)
        # Parameters: the project's name, then each template's in order, then the project's own.
        templates = list(self._templates(entry))
        params: dict[str, Any] = {"name": spec.name}
        for _, template in templates:
            params.update(template.spec.parameters)
        params.update(spec.parameters)
        lists: dict[str, list[RawJob]] = {}
        for template_name, template in templates:
            for pipeline, jobs in self._pipeline_lists(template, what).items():
                lists.setdefault(pipeline, []).extend(jobs)
            self.context.use("project-template", template_name)
        for pipeline, jobs in self._pipeline_lists(entry, what).items():
            lists.setdefault(pipeline, []).extend(jobs)
        pipelines = {
            pipeline: [ref for raw in jobs for ref in self._refs(raw, params, spec.name)]
            for pipeline, jobs in lists.items()
        }
        return ProjectPlan(spec, connection, pipelines)

    def build(self, plan: ProjectPlan, jobs: Mapping[str, Job]) -> Project:
        pipelines: dict[str, tuple[Job, ...]] = {}
        for pipeline, refs in plan.pipelines.items():
            chosen: dict[str, Job] = {}  # a later entry for the same job replaces an earlier one
            for ref in refs:
                job = jobs.get(ref.name)
                if job is None:
                    continue  # its definition had errors, already reported
                if job.abstract:
                    self.context.issues.error(
                        f"project '{plan.spec.name}' runs abstract job '{ref.name}'",
                        ref.position,
                        "run a job that inherits from it instead",
                    )
                    continue
                chosen[ref.name] = apply_overrides(job, ref.overrides)
            pipelines[pipeline] = tuple(chosen.values())
        return Project(name=plan.spec.name, pipelines=pipelines, connection=plan.connection)

    def _check_name(self, entry: Entry[ProjectSpec]) -> None:
        if entry.spec.name.startswith("^"):
            try:
                re.compile(entry.spec.name)
            except re.error as error:
                self.context.issues.error(
                    f"project name {entry.spec.name!r} is not a valid regular expression: {error}",
                    entry.body.position_of("name"),
                )

    def _connection(self, entry: Entry[ProjectSpec]) -> str | None:
        name = entry.spec.connection
        if name is None:
            return (
                next(iter(self.context.connections)) if len(self.context.connections) == 1 else None
            )
        if name not in self.context.connections:
            self.context.issues.error(
                f"project '{entry.spec.name}' names unknown connection '{name}'",
                entry.body.position_of("connection"),
                did_you_mean(name, self.context.connections),
            )
            return None
        return name

    def _templates(
        self, entry: Entry[ProjectSpec]
    ) -> Iterator[tuple[str, Entry[ProjectTemplateSpec]]]:
        for index, name in enumerate(entry.spec.templates):
            template = self.project_templates.get(name)
            if template is None:
                raw = entry.body.get("templates")
                position = (
                    raw.position_of(index)
                    if hasattr(raw, "item_at")
                    else entry.body.position_of("templates")
                )
                self.context.issues.error(
                    f"project '{entry.spec.name}' uses unknown project-template '{name}'",
                    position,
                    did_you_mean(name, self.project_templates),
                )
                continue
            yield name, template

    def _pipeline_lists(self, entry: Entry[Any], what: str) -> dict[str, list[RawJob]]:
        """The pipeline keys of a project or template: {pipeline: raw job entries}."""
        spec: BaseModel = entry.spec
        lists: dict[str, list[RawJob]] = {}
        for key in spec.model_extra or {}:
            if key not in self.context.pipelines:
                known = [*self.context.pipelines, *type(spec).model_fields]
                self.context.issues.error(
                    f"unknown key '{key}' in {what}: it is neither a project key nor a pipeline",
                    entry.body.key_at[key],
                    did_you_mean(str(key), known)
                    or "pipelines: " + ", ".join(sorted(self.context.pipelines)),
                )
                continue
            self.context.use("pipeline", key)
            body = entry.body[key]
            checked = validate(
                ProjectPipelineSpec,
                body,
                self.context.issues,
                f"pipeline '{key}' of {what}",
                entry.body.position_of(key),
            )
            if checked is not None:
                raw_jobs = body.get("jobs", [])
                if isinstance(raw_jobs, NodeList):
                    lists[key] = [
                        RawJob(job, raw_jobs.position_of(i)) for i, job in enumerate(raw_jobs)
                    ]
                else:
                    lists[key] = [RawJob(raw_jobs, body.position_of("jobs"))]
        return lists

    def _refs(self, raw: RawJob, params: Mapping[str, Any], project: str) -> list[JobRef]:
        parsed = self._parse_entry(raw, project)
        if parsed is None:
            return []
        name, overrides, position = parsed
        if name in self.table.sources and not self.table.sources[name].generated:
            self.context.use("job", name)
            return self._plain(name, overrides, position, project)
        if name in self.job_templates:
            self.context.use("job-template", name)
            return self._expand(self.job_templates[name], overrides, params, position, project)
        self.context.issues.error(
            f"project '{project}' runs unknown job '{name}'",
            position,
            did_you_mean(name, [*self.table.sources, *self.job_templates]),
        )
        return []

    def _parse_entry(self, raw: RawJob, project: str) -> tuple[str, Node, Position] | None:
        value, position = raw
        if isinstance(value, str):
            return value, _empty_node(position), position
        if isinstance(value, Node) and len(value) == 1:
            name = next(iter(value))
            overrides = value[name] if value[name] is not None else _empty_node(position)
            if isinstance(overrides, Node):
                return str(name), overrides, value.key_at[name]
        self.context.issues.error(
            f"a job entry of project '{project}' is a job name, or one job name mapped to "
            "its overrides",
            position,
            "e.g. '- tempest-full' or '- tempest-full: {voting: false}'",
        )
        return None

    def _plain(self, name: str, overrides: Node, position: Position, project: str) -> list[JobRef]:
        what = f"the overrides of job '{name}' for project '{project}'"
        spec = (
            validate(JobOverrideSpec, overrides, self.context.issues, what, position)
            if overrides
            else None
        )
        if overrides and spec is None:
            return []
        return [JobRef(name, spec, position)]

    def _expand(
        self,
        template: Entry[JobTemplateSpec],
        overrides: Node,
        params: Mapping[str, Any],
        position: Position,
        project: str,
    ) -> list[JobRef]:
        body = {k: v for k, v in template.body.items() if k != "parameters"}
        used = set(placeholders(body))
        attrs = _node_subset(overrides, lambda key: key in JOB_OVERRIDES)
        extra = {k: v for k, v in overrides.items() if k not in JOB_OVERRIDES}
        for key in extra:
            if key not in used:
                self.context.issues.error(
                    f"'{key}' is neither a job attribute nor a parameter of job-template "
                    f"'{template.spec.name}'",
                    overrides.key_at[key],
                    did_you_mean(str(key), [*used, *JOB_OVERRIDES]),
                )
                return []
        what = f"the overrides of job-template '{template.spec.name}' for project '{project}'"
        spec = (
            validate(JobOverrideSpec, attrs, self.context.issues, what, position) if attrs else None
        )
        if attrs and spec is None:
            return []
        bound = {**template.spec.parameters, **params, **extra}
        refs: list[JobRef] = []
        for combo in combinations(body, bound):
            name = self._generate(template, combo, project, position)
            if name is None:
                return refs
            refs.append(JobRef(name, spec, position))
        return refs

    def _generate(
        self,
        template: Entry[JobTemplateSpec],
        combo: Mapping[str, Any],
        project: str,
        listed_at: Position,
    ) -> str | None:
        origin = (
            f"job-template '{template.spec.name}' for project '{project}' (listed at {listed_at})"
        )
        node = _node_subset(template.body, lambda key: key != "parameters")
        try:
            rendered = render(node, combo)
        except MissingParameterError as missing:
            self.context.issues.error(
                f"{origin} uses parameter '{missing.name}', which is not set",
                template.position,
                f"set '{missing.name}' under the project's 'parameters:' or the template's own",
            )
            return None
        spec = validate(
            JobSpec,
            rendered,
            self.context.issues,
            f"job '{rendered.get('name')}' from {origin}",
            template.position,
        )
        if spec is None:
            return None
        self.table.add(JobSource(spec, rendered, template.position, origin, generated=True))
        return spec.name


def _empty_node(position: Position) -> Node:
    node = Node()
    node.start = position
    node.key_at, node.value_at = {}, {}
    return node


def _node_subset(node: Node, keep: Any) -> Node:
    subset = Node((key, value) for key, value in node.items() if keep(key))
    subset.start = node.start
    subset.key_at = {k: v for k, v in node.key_at.items() if keep(k)}
    subset.value_at = {k: v for k, v in node.value_at.items() if keep(k)}
    return subset
