"""The resolved configuration as plain data, for `crosscheck config show`."""

from __future__ import annotations

from typing import Any

from crosscheck.model.config import Config
from crosscheck.model.job import Job
from crosscheck.model.project import Project


def job_data(job: Job) -> dict[str, Any]:
    """Every effective value of a job, after inheritance and overrides."""
    data: dict[str, Any] = {"name": job.name}
    if job.inherits:
        data["inherits"] = list(job.inherits)
    if job.description:
        data["description"] = job.description
    data["node"] = job.node
    data["run"] = [
        step.shell if step.shell is not None else {"script": step.script} for step in job.run
    ]
    data["env"] = dict(job.env)
    data["timeout"] = job.timeout
    data["voting"] = job.voting
    data["attempts"] = job.attempts
    data["files"] = list(job.files)
    data["irrelevant_files"] = list(job.irrelevant_files)
    data["required_projects"] = [
        {
            key: value
            for key, value in (("name", rp.name), ("branch", rp.branch), ("version", rp.version))
            if value is not None
        }
        for rp in job.required_projects
    ]
    if job.abstract:
        data["abstract"] = True
    return data


def project_data(project: Project) -> dict[str, Any]:
    data: dict[str, Any] = {"name": project.name}
    if project.connection:
        data["connection"] = project.connection
    for pipeline, jobs in project.pipelines.items():
        data[pipeline] = {"jobs": [job_data(job) for job in jobs]}
    return data


def show(config: Config, job: str | None = None, project: str | None = None) -> list[Any]:
    """Elements in the configuration's own `- kind: {...}` form, filtered as asked.

    With both a job and a project: that job as each of the project's pipelines runs it
    (with the project's overrides). A project is given by a Gerrit project name, or by
    the name of a project entry itself (a regex entry's pattern, say).
    """
    entries = _entries(config, project) if project is not None else list(config.projects)
    if job is not None and project is not None:
        return [
            {"job": {"pipeline": pipeline, "project": entry.name, **job_data(found)}}
            for entry in entries
            for pipeline, jobs in entry.pipelines.items()
            for found in jobs
            if found.name == job
        ]
    if job is not None:
        return [{"job": job_data(config.jobs[job])}]
    if project is not None:
        return [{"project": project_data(p)} for p in entries]
    return [
        *({"job": job_data(j)} for j in sorted(config.jobs.values(), key=lambda j: j.name)),
        *({"project": project_data(p)} for p in config.projects),
    ]


def _entries(config: Config, project: str) -> list[Project]:
    matching = list(config.projects_for(project))
    return matching + [p for p in config.projects if p.name == project and p not in matching]
