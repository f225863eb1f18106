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
from crosscheck.config.templates import (
    MissingParameterError,
    ParameterCycleError,
    Renderer,
    combinations,
    compile_template,
    used_parameters,
)
from crosscheck.config.validation import validate
from crosscheck.config.yaml_source import Node, NodeList
from crosscheck.model.job import Job
from crosscheck.model.project import Project


def project_key(name: str, connection: str | None) -> str:
    """A project's claim on its name: `nova`, or `nova@upstream` once it names its
    connection, so that two Gerrits may each have a project of one name."""
    return f"{name}@{connection}" if connection else name


#: Characters that mean a project name was meant as a regular expression.
REGEX_CHARACTERS = re.compile(r"[*+?()\[\]|\\$]")


class RawJob(NamedTuple):
    """A job entry as written in a job list, where, and whose list it is."""

    value: Any
    position: Position
    owner: str  # "project 'p'" or "project-template 't'", for messages


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
        self._template_lists: dict[str, dict[str, list[RawJob]]] = {}
        self._renderers: dict[str, Renderer] = {}

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
                # Checked once here, not again for every project that uses the template.
                self._template_lists[name] = self._pipeline_lists(
                    project_template, f"project-template '{name}'"
                )

    def plan(self, entry: Entry[ProjectSpec]) -> ProjectPlan | None:
        """Expand one project's job lists; generated jobs go into the job table."""
        spec = entry.spec
        # The same project name on two Gerrits is two projects (a mirror, say).
        claimed = project_key(spec.name, spec.connection)
        if not self.context.define("project", claimed, entry.position):
            return None
        self._check_name(entry)
        connection = self._connection(entry)
        templates = list(self._templates(entry))
        # Parameters: the project's name, then each template's in order, then the project's own.
        params: dict[str, Any] = {"name": spec.name}
        for _, template in templates:
            params.update(template.spec.parameters)
        params.update(spec.parameters)
        lists: dict[str, list[RawJob]] = {}
        for template_name, _ in templates:
            for pipeline, jobs in self._template_lists.get(template_name, {}).items():
                lists.setdefault(pipeline, []).extend(jobs)
            self.context.use("project-template", template_name)
        for pipeline, jobs in self._pipeline_lists(entry, f"project '{spec.name}'").items():
            lists.setdefault(pipeline, []).extend(jobs)
        pipelines = {
            pipeline: [ref for raw in jobs for ref in self._refs(raw, params, spec.name)]
            for pipeline, jobs in lists.items()
        }
        return ProjectPlan(spec, connection, pipelines)

    def build(self, plan: ProjectPlan, jobs: Mapping[str, Job]) -> Project:
        pipelines: dict[str, tuple[Job, ...]] = {}
        for pipeline, refs in plan.pipelines.items():
            chosen: dict[str, Job] = {}  # a later entry for a job adds its overrides
            for ref in refs:
                job = chosen.get(ref.name) or jobs.get(ref.name)
                if job is None:
                    continue  # its definition had errors, already reported
                if job.abstract:
                    self.context.issues.error(
                        f"project '{plan.spec.name}' runs abstract job '{ref.name}'",
                        ref.position,
                        "run a job that inherits from it instead",
                    )
                    continue
                chosen[ref.name] = self._checked(apply_overrides(job, ref.overrides), ref, plan)
            pipelines[pipeline] = tuple(chosen.values())
        return Project(name=plan.spec.name, pipelines=pipelines, connection=plan.connection)

    def _checked(self, job: Job, ref: JobRef, plan: ProjectPlan) -> Job:
        if job.node is not None and ref.overrides is not None and ref.overrides.node:
            self.context.use("label", job.node)
            if job.node not in self.context.labels and not self.context.is_broken(
                "label", job.node
            ):
                self.context.issues.error(
                    f"project '{plan.spec.name}' runs job '{ref.name}' on unknown node label "
                    f"'{job.node}'",
                    ref.position,
                    did_you_mean(job.node, self.context.labels)
                    or f"declare it with '- label: {{name: {job.node}}}'",
                )
        return job

    def _check_name(self, entry: Entry[ProjectSpec]) -> None:
        name = entry.spec.name
        if name.startswith("^"):
            try:
                re.compile(name)
            except re.error as error:
                self.context.issues.error(
                    f"project name {name!r} is not a valid regular expression: {error}",
                    entry.body.position_of("name"),
                )
        elif REGEX_CHARACTERS.search(name) or not name:
            self.context.issues.error(
                f"project name {name!r} is neither a Gerrit project name nor a regular expression",
                entry.body.position_of("name"),
                f"to match several projects, start it with '^': '^{name}'",
            )

    def _connection(self, entry: Entry[ProjectSpec]) -> str | None:
        name = entry.spec.connection
        connections = self.context.connections
        if name is None:
            if len(connections) > 1:
                self.context.issues.error(
                    f"project '{entry.spec.name}' does not say which connection it is on",
                    entry.position,
                    "add 'connection:' with one of: " + ", ".join(connections),
                )
            return next(iter(connections)) if len(connections) == 1 else None
        if name not in connections and not self.context.is_broken("connection", name):
            self.context.issues.error(
                f"project '{entry.spec.name}' names unknown connection '{name}'",
                entry.body.position_of("connection"),
                did_you_mean(name, connections),
            )
        return name if name in connections else None

    def _templates(
        self, entry: Entry[ProjectSpec]
    ) -> Iterator[tuple[str, Entry[ProjectTemplateSpec]]]:
        for index, name in enumerate(entry.spec.templates):
            template = self.project_templates.get(name)
            if template is not None:
                yield name, template
            elif not self.context.is_broken("project-template", name):
                raw = entry.body.get("templates")
                position = (
                    raw.position_of(index)
                    if isinstance(raw, NodeList)
                    else (entry.body.position_of("templates"))
                )
                self.context.issues.error(
                    f"project '{entry.spec.name}' uses unknown project-template '{name}'",
                    position,
                    did_you_mean(name, self.project_templates),
                )

    def _pipeline_lists(self, entry: Entry[Any], owner: str) -> dict[str, list[RawJob]]:
        """The pipeline keys of a project or template: {pipeline: raw job entries}."""
        spec: BaseModel = entry.spec
        lists: dict[str, list[RawJob]] = {}
        for key in spec.model_extra or {}:
            if self.context.is_broken("pipeline", key):
                continue  # the pipeline's own errors are reported already
            if key not in self.context.pipelines:
                known = [*self.context.pipelines, *type(spec).model_fields]
                self.context.issues.error(
                    f"unknown key '{key}' in {owner}: it is neither a project key nor a pipeline",
                    entry.body.key_at[key],
                    did_you_mean(str(key), known) or _pipelines_hint(self.context),
                )
                continue
            self.context.use("pipeline", key)
            body = entry.body[key]
            checked = validate(
                ProjectPipelineSpec,
                body,
                self.context.issues,
                f"pipeline '{key}' of {owner}",
                entry.body.position_of(key),
            )
            if checked is not None:
                raw_jobs = body.get("jobs", [])
                if isinstance(raw_jobs, NodeList):
                    lists[key] = [
                        RawJob(job, raw_jobs.position_of(i), owner)
                        for i, job in enumerate(raw_jobs)
                    ]
                else:
                    lists[key] = [RawJob(raw_jobs, body.position_of("jobs"), owner)]
        return lists

    def _refs(self, raw: RawJob, params: Mapping[str, Any], project: str) -> list[JobRef]:
        parsed = self._parse_entry(raw)
        if parsed is None:
            return []
        name, overrides, position = parsed
        if name in self.table.sources and not self.table.sources[name].generated:
            self.context.use("job", name)
            return self._plain(name, overrides, position, raw.owner)
        if name in self.job_templates:
            self.context.use("job-template", name)
            return self._expand(self.job_templates[name], overrides, params, position, project)
        if not (
            self.context.is_broken("job", name) or self.context.is_broken("job-template", name)
        ):
            self.context.issues.error(
                f"{raw.owner} runs unknown job '{name}'",
                position,
                did_you_mean(name, [*self._plain_jobs(), *self.job_templates])
                or (
                    "a generated job is listed through its job-template's name"
                    if name in self.table.sources
                    else None
                ),
            )
        return []

    def _plain_jobs(self) -> list[str]:
        return [name for name, source in self.table.sources.items() if not source.generated]

    def _parse_entry(self, raw: RawJob) -> tuple[str, Node, Position] | None:
        value, position, owner = raw
        if isinstance(value, str):
            return value, _empty_node(position), position
        if isinstance(value, Node) and len(value) == 1:
            name = next(iter(value))
            overrides = value[name] if value[name] is not None else _empty_node(position)
            if isinstance(overrides, Node):
                return str(name), overrides, value.key_at[name]
        self.context.issues.error(
            f"a job entry of {owner} is a job name, or one job name mapped to its overrides",
            position,
            "e.g. '- tempest-full' or '- tempest-full: {voting: false}'",
        )
        return None

    def _plain(self, name: str, overrides: Node, position: Position, owner: str) -> list[JobRef]:
        what = f"the overrides of job '{name}' for {owner}"
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
        used = set(used_parameters(body, {**template.spec.parameters, **params, **overrides}))
        # A key the template uses as a placeholder is a parameter, even if it names a job
        # attribute (`timeout: '{timeout}'`); other job attributes are overrides.
        extra = {k: v for k, v in overrides.items() if k in used or k not in JOB_OVERRIDES}
        attrs = _node_subset(overrides, lambda key: key not in extra)
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
        if not self._parameters_ok(template, body, bound, project, position):
            return []
        refs: list[JobRef] = []
        origin = (
            f"job-template '{template.spec.name}' for project '{project}' (listed at {position})"
        )
        try:
            for combo in combinations(body, bound):
                name = self._generate(template, combo, origin)
                if name is None:
                    return refs
                refs.append(JobRef(name, spec, position))
        except ParameterCycleError as cycle:
            self.context.issues.error(
                f"parameters of project '{project}' refer to each other in a cycle: "
                + ", ".join(cycle.names),
                position,
            )
        return refs

    def _parameters_ok(
        self,
        template: Entry[JobTemplateSpec],
        body: Mapping[str, Any],
        bound: Mapping[str, Any],
        project: str,
        listed_at: Position,
    ) -> bool:
        """Every parameter the template uses is set; an empty list is worth a warning."""
        ok = True
        for name in used_parameters(body, bound):
            if name not in bound:
                self.context.issues.error(
                    f"job-template '{template.spec.name}' uses parameter '{name}', which project "
                    f"'{project}' does not set (listed at {listed_at})",
                    _placeholder_position(template.body, name) or template.position,
                    did_you_mean(name, [k for k in bound if k != "name"])
                    or f"set '{name}' under the project's 'parameters:' or the template's own",
                )
                ok = False
            elif bound[name] == []:
                self.context.issues.warning(
                    f"parameter '{name}' is an empty list, so job-template "
                    f"'{template.spec.name}' makes no job for project '{project}'",
                    listed_at,
                )
        return ok

    def _generate(
        self, template: Entry[JobTemplateSpec], combo: Mapping[str, Any], origin: str
    ) -> str | None:
        """One job of a template's matrix; `origin` says whose, for messages."""
        try:
            rendered = self._renderer(template)(combo)
        except MissingParameterError as missing:
            self.context.issues.error(
                f"{origin} uses parameter '{missing.name}', which is not set",
                missing.position or template.position,
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

    def _renderer(self, template: Entry[JobTemplateSpec]) -> Renderer:
        """The template's body made once into a renderer, for all its jobs."""
        name = template.spec.name
        renderer = self._renderers.get(name)
        if renderer is None:
            body = _node_subset(template.body, lambda key: key != "parameters")
            renderer = self._renderers[name] = compile_template(body)
        return renderer


def _pipelines_hint(context: Context) -> str:
    if not context.pipelines:
        return "no pipeline is defined yet: add a '- pipeline:' element"
    return "pipelines: " + ", ".join(sorted(context.pipelines))


def _placeholder_position(value: Any, name: str) -> Position | None:
    """Where `{name}` is first used inside a template body."""
    marker = "{" + name + "}"
    if isinstance(value, Node):
        for key, item in value.items():
            if key == "parameters":
                continue
            if isinstance(item, str) and marker in item:
                return value.position_of(key)
            found = _placeholder_position(item, name)
            if found:
                return found
    elif isinstance(value, NodeList):
        for index, item in enumerate(value):
            if isinstance(item, str) and marker in item:
                return value.position_of(index)
            found = _placeholder_position(item, name)
            if found:
                return found
    return None


def _empty_node(position: Position) -> Node:
    node = Node()
    node.start = position
    node.key_at, node.value_at, node.text_at = {}, {}, {}
    return node


def _node_subset(node: Node, keep: Any) -> Node:
    subset = Node((key, value) for key, value in node.items() if keep(key))
    subset.start = node.start
    subset.key_at = {k: v for k, v in node.key_at.items() if keep(k)}
    subset.value_at = {k: v for k, v in node.value_at.items() if keep(k)}
    subset.text_at = {k: v for k, v in node.text_at.items() if keep(k)}
    return subset
