"""The shape of each element crosscheck itself defines, as pydantic models.

A connection's element and its pipeline triggers are its driver's (drivers/registry.py);
the base `Spec` and the field types shared with drivers are in `crosscheck.specs`.
Shorthands are normalised before validation (a single string where a list is
allowed, a bare name for a required project), so validation errors carry clean
paths that map back to file positions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from crosscheck.config.cron import cron_schedule
from crosscheck.config.node_schema import NodeSpec, PodSpec
from crosscheck.config.scenario_schema import ScenarioSpec, Segment
from crosscheck.model.account_text import account_name_problem
from crosscheck.model.config import (
    DEFAULT_DISK_LIMIT,
    DEFAULT_GIT_STALL_TIME,
    DEFAULT_MAX_RESULT_AGE,
    DEFAULT_REPORT_GIVE_UP_AFTER,
    DEFAULT_RESULTS_BURST,
    DEFAULT_RESULTS_RATE,
    MAX_GIT_STALL_TIME,
)
from crosscheck.model.node import DEFAULT_CHECK_INTERVAL
from crosscheck.model.pipeline import Notify
from crosscheck.specs import (
    Branch,
    Duration,
    Glob,
    Name,
    Size,
    Spec,
    as_list,
    no_inline,
    one_source,
)


def _some_branches(value: list[str]) -> list[str]:
    if not value:
        raise ValueError(
            "name at least one branch, or leave 'branches' out to fire on each "
            "project's HEAD branch"
        )
    return value


class CISpec(Spec):
    name: Annotated[str, Field(min_length=1)]
    run_name: Name | None = None
    info_url: str | None = None
    #: The results service's admin token (the account API), for serve and operator commands.
    admin_token_env: str | None = None
    admin_token_file: str | None = None
    #: Refused with its own message, and never offered as a "did you mean".
    admin_token: Annotated[Any, no_inline("admin_token")] = Field(default=None, exclude=True)
    #: How long an undelivered report is retried (from when it was queued).
    report_give_up_after: Duration = DEFAULT_REPORT_GIVE_UP_AFTER

    @model_validator(mode="after")
    def _one_admin_token_source(self) -> CISpec:
        one_source(self, "admin_token")
        return self


class TimerTriggerSpec(Spec):
    time: Annotated[str, AfterValidator(cron_schedule)]
    #: Fire on these branches of each project instead of its HEAD branch.
    branches: (
        Annotated[
            list[Branch],
            BeforeValidator(as_list),
            AfterValidator(_some_branches),
        ]
        | None
    ) = None


class ReporterSpec(Spec):
    labels: dict[str, int] = Field(default_factory=dict)
    comment: bool = True
    notify: Notify = Notify.OWNER

    @model_validator(mode="before")
    @classmethod
    def _votes_go_under_labels(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):
            votes = [
                k for k, v in value.items() if k not in cls.model_fields and isinstance(v, int)
            ]
            if votes:
                vote = f"{votes[0]}: {value[votes[0]]}"
                raise ValueError(
                    f"'{vote}' is a vote: write it under labels, e.g. {{labels: {{{vote}}}}}"
                )
        return value


def _reporters(value: Any) -> Any:
    if isinstance(value, dict):
        misplaced = [key for key in value if key in ReporterSpec.model_fields]
        if misplaced:
            raise ValueError(
                f"'{misplaced[0]}' goes inside a connection: write "
                f"{{gerrit: {{{misplaced[0]}: ...}}}}, naming your connection"
            )
    return value


Reporters = Annotated[dict[str, ReporterSpec], BeforeValidator(_reporters)]


class CandidatesSpec(Spec):
    """`candidates:` of a pipeline: its items are a scenario's candidates at a level."""

    scenario: Segment
    #: None: the scenario's newest candidate (a post-merge pipeline of candidates).
    level: Segment | None = None
    jobs: Annotated[list[Name], BeforeValidator(as_list), Field(min_length=1)]
    on_move: bool = False


class PipelineSpec(Spec):
    name: Name
    description: str = ""
    manager: Literal["independent", "supercedent"]
    #: connection name (or `timer`) -> trigger rules; checked against the connection's driver.
    trigger: dict[str, Annotated[list[Any], BeforeValidator(as_list), Field(min_length=1)]] = Field(
        default_factory=dict
    )
    candidates: CandidatesSpec | None = None

    @model_validator(mode="after")
    def _triggered(self) -> PipelineSpec:
        if self.candidates is None and not self.trigger:
            raise ValueError(
                "a pipeline needs a 'trigger': the events (or the timer) that enqueue its items"
            )
        if self.candidates is not None:
            others = sorted(set(self.trigger) - {"timer"})
            if others:
                raise ValueError(
                    f"a pipeline of candidates is triggered by 'timer' or by its level moving "
                    f"('on_move: true'), not by {', '.join(others)}: move those triggers to "
                    "another pipeline"
                )
            if not self.trigger and not self.candidates.on_move:
                raise ValueError(
                    "a pipeline of candidates needs a 'timer' trigger or 'on_move: true' in "
                    "'candidates': nothing would ever enqueue a candidate"
                )
        return self

    skip_wip: bool = True
    skip_private: bool = True
    current_patchset_only: bool = True
    start: Reporters = Field(default_factory=dict)
    success: Reporters = Field(default_factory=dict)
    failure: Reporters = Field(default_factory=dict)
    #: None: not written, so derived from `failure` (see config/pipelines.py).
    merge_conflict: Reporters | None = None
    error: Reporters | None = None


class ExecutorSpec(Spec):
    slots: Annotated[int, Field(ge=1, le=256)] = 2
    work_root: Annotated[str, Field(min_length=1)] | None = None
    logs_root: Annotated[str, Field(min_length=1)] | None = None
    git_cache: Annotated[str, Field(min_length=1)] | None = None
    keep_failed_workspaces: bool = False
    log_retention_days: Annotated[int, Field(ge=1, le=36500)] = 30
    kill_grace: Annotated[int, Field(ge=0, le=3600)] = 10
    labels: Annotated[list[Name], BeforeValidator(as_list)] | None = None
    node_check_interval: Annotated[Duration, Field(ge=5, le=86400)] = DEFAULT_CHECK_INTERVAL
    git_stall_time: Annotated[Duration, Field(ge=1, le=MAX_GIT_STALL_TIME)] = DEFAULT_GIT_STALL_TIME
    confine: Literal["auto", "bubblewrap", "none"] = "auto"
    disk_limit: Size = DEFAULT_DISK_LIMIT

    @model_validator(mode="after")
    def _separate_roots(self) -> ExecutorSpec:
        given = {
            k: v
            for k, v in (
                ("work_root", self.work_root),
                ("logs_root", self.logs_root),
                ("git_cache", self.git_cache),
            )
            if v is not None
        }
        if len(set(given.values())) < len(given):
            raise ValueError(
                "work_root, logs_root and git_cache must be different directories: work "
                "directories are deleted after each build, logs are pruned by age"
            )
        return self


def _web_address(value: str) -> str:
    if not re.match(r"^https?://[^/@\s]+(/\S*)?$", value):
        raise ValueError(
            f"{value!r} is not a web address: write it as http://HOST[:PORT][/PATH] "
            "or https://..., without user or password"
        )
    return value


def _account_name(value: str) -> str:
    problem = account_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: Keys that configure the embedded service, and keys that say where results go.
SERVICE_KEYS = (
    "public_reads",
    "rate",
    "burst",
    "pages",
    "max_result_age",
    "read_token_env",
    "read_token_file",
)
REPORT_KEYS = ("url", "account", "token_env", "token_file")


class ResultsSpec(Spec):
    serve: bool = True
    public_reads: bool = True
    rate: Annotated[float, Field(gt=0, le=100_000)] = DEFAULT_RESULTS_RATE
    burst: Annotated[int, Field(ge=1, le=1_000_000)] = DEFAULT_RESULTS_BURST
    max_result_age: Annotated[Duration, Field(le=366 * 86400)] = DEFAULT_MAX_RESULT_AGE
    pages: Annotated[str, Field(min_length=1)] | None = None
    #: The read-only token a Checks tab plugin sends when reads are private.
    read_token_env: str | None = None
    read_token_file: str | None = None
    report: bool = True
    url: Annotated[str, AfterValidator(_web_address)] | None = None
    account: Annotated[str, AfterValidator(_account_name)] | None = None
    token_env: str | None = None
    token_file: str | None = None
    #: Refused with its own message, and never offered as a "did you mean".
    token: Annotated[Any, no_inline("token")] = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> ResultsSpec:
        one_source(self, "token")
        one_source(self, "read_token")
        given = self.model_fields_set
        if not self.serve and (unused := [k for k in SERVICE_KEYS if k in given]):
            raise ValueError(
                f"{', '.join(unused)} configure the results service served here, but serve "
                "is false: remove them, or drop 'serve: false'"
            )
        report_keys = [k for k in REPORT_KEYS if k in given]
        if not self.report and report_keys:
            raise ValueError(
                f"{', '.join(report_keys)} say where results are reported, but report is "
                "false: remove them, or drop 'report: false'"
            )
        if self.report and not self.serve and self.url is None and report_keys:
            raise ValueError(
                "there is no results service to report to: give its url, or serve it here "
                "(drop 'serve: false')"
            )
        if self.url is not None and not (self.token_env or self.token_file):
            raise ValueError(
                "reporting to a results service at url needs the CI account's token: "
                "give token_env or token_file (`crosscheck results account create` prints it)"
            )
        return self


class LabelSpec(Spec):
    name: Name
    description: str = ""


#: A NUL cannot be passed to a process (each build would end in an error): most often
#: YAML's `\0` escape in a double-quoted string, meant as a backslash and a 0.
NUL_HINT = (
    'holds a NUL character (YAML reads "\\0..." in double quotes as one): write "\\\\0" '
    "for a backslash and a 0, or use single quotes"
)


class RunStepSpec(Spec):
    shell: Annotated[str, Field(min_length=1)] | None = None
    script: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RunStepSpec:
        if (self.shell is None) == (self.script is None):
            raise ValueError(
                "a run step is a shell line, or a mapping with exactly one of 'shell' or 'script'"
            )
        if "\x00" in (self.shell or self.script or ""):
            raise ValueError(NUL_HINT)
        return self


def _run_steps(value: Any) -> Any:
    steps = as_list(value)
    if not isinstance(steps, list):
        return steps
    for number, step in enumerate(steps, 1):
        if not isinstance(step, str | dict):
            raise ValueError(
                f"run step {number} is {step!r}: write a shell line as a string "
                "(quote it), or {script: path}"
            )
    return [{"shell": s} if isinstance(s, str) else s for s in steps]


class RequiredProjectSpec(Spec):
    name: str
    branch: str | None = None
    version: str | None = None

    @model_validator(mode="after")
    def _branch_or_version(self) -> RequiredProjectSpec:
        if self.branch and self.version:
            raise ValueError("give a branch or a pinned version, not both")
        return self


def _required_projects(value: Any) -> Any:
    if isinstance(value, list):
        return [{"name": v} if isinstance(v, str) else v for v in value]
    return value


def _env(value: Any) -> Any:
    """Environment values are strings, exactly as written: YAML would read 3.10 as 3.1."""
    if not isinstance(value, dict):
        return value
    written = getattr(value, "text_at", {})
    env = {
        str(key): item if isinstance(item, str) else written.get(key, _env_value(item))
        for key, item in value.items()
    }
    for key, item in env.items():
        if "=" in key or "\x00" in key:
            raise ValueError(f"environment name {key!r} holds '=' or a NUL: give a plain name")
        if isinstance(item, str) and "\x00" in item:
            raise ValueError(f"environment value of {key}: {NUL_HINT}")
    return env


def _env_value(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


class JobScenarioSpec(Spec):
    """`scenario: NAME` or `scenario: {name: NAME, level: LEVEL}` on a job."""

    name: Segment
    level: Segment | None = None


def _job_scenario(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        raise ValueError("write 'scenario: NAME' or 'scenario: {name: NAME, level: LEVEL}'")
    return value


class JobSpec(Spec):
    name: Name
    description: str = ""
    parent: Name | None = None
    abstract: bool = False
    node: Name | None = None
    run: Annotated[list[RunStepSpec], BeforeValidator(_run_steps)] = Field(default_factory=list)
    env: Annotated[dict[str, str], BeforeValidator(_env)] = Field(default_factory=dict)
    timeout: Duration | None = None
    voting: bool | None = None
    files: Annotated[list[Glob], BeforeValidator(as_list)] = Field(default_factory=list)
    irrelevant_files: Annotated[list[Glob], BeforeValidator(as_list)] = Field(default_factory=list)
    required_projects: Annotated[list[RequiredProjectSpec], BeforeValidator(_required_projects)] = (
        Field(default_factory=list)
    )
    attempts: Annotated[int, Field(ge=1, le=10)] | None = None
    scenario: Annotated[JobScenarioSpec, BeforeValidator(_job_scenario)] | None = None


class JobTemplateSpec(BaseModel):
    """A job whose values hold `{parameters}`; checked as a JobSpec once expanded."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)
    name: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class ProjectPipelineSpec(Spec):
    #: Each entry is checked by the project builder, which can say what a job entry is.
    jobs: Annotated[list[Any], BeforeValidator(as_list)] = Field(default_factory=list)


class ProjectSpec(BaseModel):
    """A project; its other keys are pipeline names (checked against the pipelines)."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)
    name: str
    connection: Name | None = None
    templates: Annotated[list[str], BeforeValidator(as_list)] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)


class ProjectTemplateSpec(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)
    name: Name
    parameters: dict[str, Any] = Field(default_factory=dict)


#: Top-level element kinds, in the order they are documented.
ELEMENTS = (
    "ci",
    "connection",
    "pipeline",
    "label",
    "node",
    "pod",
    "job",
    "job-template",
    "project-template",
    "project",
    "executor",
    "results",
    "scenario",
)
#: Each kind's spec but the connection's, which its driver gives (config/settings.py).
SPECS: dict[str, type[BaseModel]] = {
    "ci": CISpec,
    "pipeline": PipelineSpec,
    "label": LabelSpec,
    "node": NodeSpec,
    "pod": PodSpec,
    "job": JobSpec,
    "job-template": JobTemplateSpec,
    "project-template": ProjectTemplateSpec,
    "project": ProjectSpec,
    "executor": ExecutorSpec,
    "results": ResultsSpec,
    "scenario": ScenarioSpec,
}


class JobOverrideSpec(Spec):
    """What a project may change on a job it runs: `- tempest-full: {voting: false}`."""

    description: str | None = None
    node: Name | None = None
    env: Annotated[dict[str, str], BeforeValidator(_env)] | None = None
    timeout: Duration | None = None
    voting: bool | None = None
    files: Annotated[list[Glob], BeforeValidator(as_list)] | None = None
    irrelevant_files: Annotated[list[Glob], BeforeValidator(as_list)] | None = None
    required_projects: (
        Annotated[list[RequiredProjectSpec], BeforeValidator(_required_projects)] | None
    ) = None
    attempts: Annotated[int, Field(ge=1, le=10)] | None = None


JOB_OVERRIDES = frozenset(JobOverrideSpec.model_fields)
