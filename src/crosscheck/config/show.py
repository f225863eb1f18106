"""The resolved configuration as plain data, for `crosscheck config show`.

The whole configuration names each job once: its `job` element holds every value, and a
project's pipelines name it, with only what the project changes (voting: false, say),
as a configuration is written. Elements come one at a time, so the command can print
each as soon as it is made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from crosscheck.model.config import Config
from crosscheck.model.job import Job
from crosscheck.model.node import Pod, SshNode
from crosscheck.model.project import Project
from crosscheck.model.promotion import Level
from crosscheck.model.scenario import Component, Scenario


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
    if job.scenario is not None:
        wanted = job.scenario
        data["scenario"] = {
            "name": wanted.name,
            **({"level": wanted.level} if wanted.level else {}),
        }
    if job.abstract:
        data["abstract"] = True
    return data


def project_data(project: Project, defined: Mapping[str, Job] | None = None) -> dict[str, Any]:
    """A project's pipelines with each job whole, or, given the `defined` jobs, named
    with only the values the project changes."""
    data: dict[str, Any] = {"name": project.name}
    if project.connection:
        data["connection"] = project.connection
    for pipeline, jobs in project.pipelines.items():
        listed = [job_data(job) if defined is None else _reference(job, defined) for job in jobs]
        data[pipeline] = {"jobs": listed}
    return data


def _reference(job: Job, defined: Mapping[str, Job]) -> str | dict[str, Any]:
    """`name`, or `{name: {changed values}}`, as a project lists a job in a file."""
    own = defined.get(job.name)
    if own is None:  # a job made for this project alone: nowhere else to read it
        return job_data(job)
    if own == job:
        return job.name
    base = job_data(own)
    changed = {k: v for k, v in job_data(job).items() if k != "name" and base.get(k) != v}
    return {job.name: changed} if changed else job.name


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """A scenario as written, every default filled in; levels from the first up."""
    data: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        data["description"] = scenario.description
    data["components"] = [_component_data(c) for c in scenario.components]
    data["levels"] = [_level_data(level) for level in scenario.levels]
    data["channels"] = [{"name": c.name, "from": c.level} for c in scenario.channels]
    return data


def _component_data(component: Component) -> dict[str, Any]:
    data: dict[str, Any] = {"name": component.name}
    if component.git_url is not None:
        data["git"] = component.git_url
    else:
        data["connection"], data["project"] = component.connection, component.project
    data[component.ref_kind.value] = component.ref
    return data


def _level_data(level: Level) -> dict[str, Any]:
    data: dict[str, Any] = {"name": level.name}
    if level.below is not None:
        data["below"] = level.below
    data["jobs"] = [
        job.alternatives[0] if len(job.alternatives) == 1 else {"any": list(job.alternatives)}
        for job in level.jobs
    ]
    data["accounts"] = list(level.accounts)
    for key, span in (("soak", level.soak), ("max_age", level.max_age)):
        if span is not None:
            data[key] = int(span.total_seconds())
    if level.approvals is not None:
        data["approvals"] = {"by": list(level.approvals.by), "count": level.approvals.count}
    if level.publish is not None:
        rule = level.publish
        data["publish"] = {
            key: value
            for key, value in (("tag", rule.tag), ("manifest", rule.manifest),
                               ("webhook", rule.webhook),
                               ("webhook_secret_env", rule.webhook_secret_env),
                               ("webhook_secret_file", rule.webhook_secret_file and
                                str(rule.webhook_secret_file)))
            if value
        }  # fmt: skip
    return data


def show(config: Config, job: str | None = None, project: str | None = None) -> list[Any]:
    """`elements`, all at once."""
    return list(elements(config, job, project))


def elements(
    config: Config, job: str | None = None, project: str | None = None
) -> Iterator[dict[str, Any]]:
    """Elements in the configuration's own `- kind: {...}` form, filtered as asked.

    With both a job and a project: that job as each of the project's pipelines runs it
    (with the project's overrides). With a project alone, its jobs whole, as it runs
    them. A project is given by a Gerrit project name, or by the name of a project entry
    itself (a regex entry's pattern, say).
    """
    entries = _entries(config, project) if project is not None else list(config.projects)
    if job is not None and project is not None:
        yield from _as_run(entries, job)
    elif job is not None:
        yield {"job": job_data(config.jobs[job])}
    elif project is not None:
        yield from ({"project": project_data(p)} for p in entries)
    else:
        yield from _everything(config)


def _as_run(entries: list[Project], job: str) -> Iterator[dict[str, Any]]:
    for entry in entries:
        for pipeline, jobs in entry.pipelines.items():
            for found in jobs:
                if found.name == job:
                    yield {"job": {"pipeline": pipeline, "project": entry.name, **job_data(found)}}


def _everything(config: Config) -> Iterator[dict[str, Any]]:
    yield from ({"job": job_data(j)} for j in sorted(config.jobs.values(), key=lambda j: j.name))
    yield from ({"project": project_data(p, config.jobs)} for p in config.projects)
    yield from ({"scenario": scenario_data(s)} for s in config.scenarios.values())
    yield from ({"node": node_data(n)} for n in config.lab.nodes.values())
    yield from ({"pod": pod_data(p)} for p in config.lab.pods.values())


def node_data(node: SshNode) -> dict[str, Any]:
    """A node as it will be used: paths resolved, defaults filled in."""
    return {
        "name": node.name,
        "host": node.host,
        "port": node.port,
        "user": node.user,
        **({"key": str(node.key_file)} if node.key_file else {"agent": True}),
        **(
            {"host_key": node.host_key} if node.host_key else {"known_hosts": str(node.known_hosts)}
        ),
        "labels": list(node.labels),
        "max_builds": node.max_builds,
        "work_root": str(node.work_root) if node.work_root else "$HOME/crosscheck-work",
        "connect_timeout": node.connect_timeout,
        "keepalive": node.keepalive,
    }


def pod_data(pod: Pod) -> dict[str, Any]:
    return {
        "name": pod.name,
        "labels": list(pod.labels),
        "roles": {role: list(names) for role, names in pod.roles.items()},
        "run_on": pod.run_on,
    }


def _entries(config: Config, project: str) -> list[Project]:
    matching = list(config.projects_for(project))
    return matching + [p for p in config.projects if p.name == project and p not in matching]
