"""Load a configuration: every file, every element, every cross-reference, all errors.

The order is fixed: files, elements, settings (ci, executor, results) and
connections, labels, pipelines, jobs, templates and projects, inheritance,
scenarios, warnings. A configuration with any error yields no model at all, so a
half-checked one is never applied.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from crosscheck.config.context import Context, Entry
from crosscheck.config.files import Element, ReadElements, discover, read_elements
from crosscheck.config.issues import ConfigIssue, IssueList
from crosscheck.config.job_scenarios import check_job_scenarios
from crosscheck.config.jobs import JobSource, JobTable
from crosscheck.config.nodes import build_lab
from crosscheck.config.pipelines import build_pipelines, check_candidate_pipelines
from crosscheck.config.projects import ProjectBuilder
from crosscheck.config.schema import ELEMENTS, SPECS, JobSpec
from crosscheck.config.settings import (
    build_ci,
    build_connections,
    build_executor,
    build_labels,
    build_results,
    connection_spec,
)
from crosscheck.config.validation import validate
from crosscheck.config.warnings import collect_warnings
from crosscheck.model.config import Config


@dataclass(frozen=True)
class LoadResult:
    config: Config | None
    errors: list[ConfigIssue] = field(default_factory=list)
    warnings: list[ConfigIssue] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: Files not wholly read (`ReadElements.unreadable`).
    unreadable: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def unchecked(self) -> str | None:
        """What was left unchecked because a file did not read, for the reader of the errors."""
        if not self.unreadable:
            return None
        files = ", ".join(str(path) for path in self.unreadable)
        verb = "reads" if len(self.unreadable) == 1 else "read"
        return (
            f"unknown names are not reported until {files} {verb} without error: "
            "what the other files use may be defined there"
        )


def load_config(paths: Sequence[Path]) -> LoadResult:
    issues = IssueList()
    with _no_cycle_collection():
        files = discover(paths, issues)
        read = read_elements(files, issues)
        config = build(read.elements, issues, read)
    return LoadResult(
        config if not issues.errors else None,
        issues.errors,
        issues.warnings,
        files,
        tuple(read.unreadable),
    )


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused: a configuration is hundreds of thousands of new
    objects, which would start its passes again and again over every object there is, while
    it makes almost no cycles (what it does make is collected once the pause ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build(
    elements: Sequence[Element], issues: IssueList, read: ReadElements | None = None
) -> Config:
    context = Context(issues)
    if read is not None:
        context.unreadable, context.lost_names = tuple(read.unreadable), set(read.lost_names)
    entries = _validated(elements, context)
    build_ci(context, entries["ci"])
    build_executor(context, entries["executor"])
    build_results(context, entries["results"], entries["ci"])
    build_connections(context, entries["connection"])
    build_labels(context, entries["label"])
    build_lab(context, entries["executor"], entries["node"], entries["pod"])
    build_pipelines(context, entries["pipeline"])
    table = JobTable(context)
    for entry in entries["job"]:
        spec: JobSpec = entry.spec
        table.add(JobSource(spec, entry.body, entry.position, f"job '{spec.name}'"))
    projects = ProjectBuilder(context, table)
    projects.add_templates(entries["job-template"], entries["project-template"])
    plans = [plan for entry in entries["project"] if (plan := projects.plan(entry))]
    jobs = table.resolve_all()
    built = tuple(projects.build(plan, jobs) for plan in plans)
    if entries["scenario"]:
        _build_scenarios(context, entries["scenario"])
    check_candidate_pipelines(context, entries["pipeline"], jobs)
    check_job_scenarios(context, entries["job"])
    if not issues.errors:  # warnings about a broken configuration are only noise
        collect_warnings(context, jobs, built)
    return Config(
        ci=context.ci,
        executor=context.executor,
        results=context.results,
        connections=context.connections,
        labels=context.labels,
        lab=context.lab,
        pipelines=context.pipelines,
        jobs=jobs,
        projects=built,
        scenarios=context.scenarios,
    )


def _build_scenarios(context: Context, entries: list[Entry[Any]]) -> None:
    # Imported here: the promotion model they are made of takes some 20 ms to import,
    # a tenth of a `config check`, and most configurations have no scenario.
    from crosscheck.config.scenarios import build_scenarios  # noqa: PLC0415

    build_scenarios(context, entries)


def _validated(elements: Sequence[Element], context: Context) -> dict[str, list[Entry[Any]]]:
    entries: dict[str, list[Entry[Any]]] = {kind: [] for kind in ELEMENTS}
    for element in elements:
        spec = validate(
            _spec(element),
            element.body,
            context.issues,
            _describe(element),
            element.position,
        )
        if spec is not None:
            entries[element.kind].append(Entry(spec, element.body, element.position))
        else:
            name = element.body.get("name") if isinstance(element.body, dict) else None
            context.broken.add((element.kind, name if isinstance(name, str) else ""))
    return entries


def _spec(element: Element) -> type[BaseModel]:
    if element.kind == "connection":
        return connection_spec(element.body)
    return SPECS[element.kind]


def _describe(element: Element) -> str:
    name = element.body.get("name") if isinstance(element.body, dict) else None
    return f"{element.kind} '{name}'" if isinstance(name, str) else element.kind
