"""The `scenario` element as written: components, levels and release channels.

What one entry can say alone is checked here (a component's one ref, a SHA's digits,
a level's jobs); what needs the others (unknown connections, duplicate names, the
chain of levels) is checked by config/scenarios.py, which knows where each one is.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from crosscheck.config.cron import cron_schedule
from crosscheck.model.account_text import account_name_problem
from crosscheck.model.candidate import SHA
from crosscheck.specs import Branch, Name, Period, Spec, as_list, one_source
from crosscheck.specs.fields import BAD_BRANCH

#: What git can clone that is not on a Gerrit connection: a URL, or scp-like user@host:path.
GIT_URL = re.compile(r"^(?:(?:https?|ssh|git)://[^\s/]+/\S+|[\w.-]+@[\w.-]+:\S+)$")
REFS = ("branch", "tag", "sha")


def _sha(value: str) -> str:
    if not SHA.match(value):
        raise ValueError(
            f"{value!r} is not a commit SHA: write the full 40 hexadecimal digits in lower "
            "case (`git rev-parse REF` prints them)"
        )
    return value


def _tag(value: str) -> str:
    if value.startswith("refs/") or not value or BAD_BRANCH.search(value):
        raise ValueError(f"{value!r} is not a tag name: give the tag's short name, e.g. '9.1.0'")
    return value


#: `https://user:password@host/...`: a secret inside the configuration.
_URL_PASSWORD = re.compile(r"^[a-z]+://[^/@\s]*:[^/@\s]*@")
#: Scenario and level names name directories (manifests), URL segments (the API, the
#: pages) and tags: one plain path segment.
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _git_url(value: str) -> str:
    if _URL_PASSWORD.match(value):
        # Never echo it: the value holds a password.
        raise ValueError(
            "a component's git URL holds a password: the configuration is no place for "
            "secrets; give git its credentials (a credential helper, ~/.netrc, an SSH key) "
            "and write the URL without them"
        )
    if not GIT_URL.match(value):
        raise ValueError(
            f"{value!r} is not a git URL: write https://HOST/PATH, ssh://HOST/PATH, "
            "git://HOST/PATH or USER@HOST:PATH"
        )
    return value


def _segment(value: str) -> str:
    if not SEGMENT.match(value) or ".." in value:
        raise ValueError(
            f"{value!r} cannot name a scenario or a level: it names directories, URLs and "
            "tags, so use letters, digits, '.', '_' and '-' (no '/'), starting with a "
            "letter or digit"
        )
    return value


#: A scenario's, a level's or a release channel's name.
Segment = Annotated[str, AfterValidator(_segment)]

#: Files a scenario's workspace holds beside its components.
RESERVED_IN_WORKSPACE = frozenset({"pinned-versions.yaml"})


def _component_name(value: str) -> str:
    if not SEGMENT.match(value) or ".." in value or value in RESERVED_IN_WORKSPACE:
        raise ValueError(
            f"{value!r} cannot name a component: it names the component's directory in a "
            "build's workspace, so use letters, digits, '.', '_' and '-' (no '/', not "
            "'pinned-versions.yaml'), starting with a letter or digit"
        )
    return value


def _project(value: str) -> str:
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise ValueError(
            f"{value!r} is not a Gerrit project name: no empty, '.' or '..' part between slashes"
        )
    return value


def _account(value: str) -> str:
    problem = account_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Account = Annotated[str, AfterValidator(_account)]


class ComponentSpec(Spec):
    name: Annotated[str, AfterValidator(_component_name)]
    connection: Name | None = None
    project: Annotated[str, Field(min_length=1), AfterValidator(_project)] | None = None
    git: Annotated[str, AfterValidator(_git_url)] | None = None
    branch: Branch | None = None
    tag: Annotated[str, AfterValidator(_tag)] | None = None
    sha: Annotated[str, AfterValidator(_sha)] | None = None

    @model_validator(mode="after")
    def _one_source_one_ref(self) -> ComponentSpec:
        if self.git is not None and (self.connection or self.project):
            raise ValueError(
                "a component is a project on a connection or a plain git URL: give "
                "'connection' and 'project', or 'git', not both"
            )
        if self.git is None and not (self.connection and self.project):
            raise ValueError(
                "a component needs 'connection' and 'project' (on Gerrit), or 'git' (a plain "
                "git URL)"
            )
        given = [ref for ref in REFS if getattr(self, ref) is not None]
        if len(given) != 1:
            said = f"it gives {' and '.join(given)}" if given else "it gives none"
            raise ValueError(
                f"a component is at exactly one of branch (its tip), tag or sha; {said}"
            )
        return self


class AnyJobSpec(Spec):
    """A required job with alternatives: `{any: [tempest-full, tempest-smoke]}`."""

    alternatives: Annotated[list[Name], BeforeValidator(as_list), Field(min_length=1)] = Field(
        alias="any"
    )


def _job_entries(value: Any) -> Any:
    """`unit` is the shorthand of `{any: [unit]}`: one job, no alternative."""
    entries = as_list(value)
    if not isinstance(entries, list):
        return entries
    return [{"any": [entry]} if isinstance(entry, str) else entry for entry in entries]


def _some_jobs(value: list[AnyJobSpec]) -> list[AnyJobSpec]:
    if not value:
        raise ValueError(
            "a level needs at least one job: name the jobs whose results promote a candidate"
        )
    seen: set[frozenset[str]] = set()
    for entry in value:
        key = frozenset(entry.alternatives)
        if key in seen:
            named = " or ".join(sorted(key))
            raise ValueError(f"job {named} is required twice in this level: name it once")
        seen.add(key)
    return value


class ApprovalsSpec(Spec):
    by: Annotated[list[Account], BeforeValidator(as_list), Field(min_length=1)]
    count: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _enough_approvers(self) -> ApprovalsSpec:
        if self.count > len(set(self.by)):
            raise ValueError(
                f"{self.count} approvals are needed but {len(set(self.by))} account(s) may "
                "approve: name more accounts in 'by', or lower 'count'"
            )
        return self


def _approvals(value: Any) -> Any:
    """`approvals: release-manager` or `[a, b]` is the shorthand of `{by: ...}`."""
    return {"by": value} if isinstance(value, str | list) else value


def _web_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://ci.example.org/hook")
    return value


class PublishSpec(Spec):
    tag: bool = False
    manifest: bool = False
    webhook: Annotated[str, AfterValidator(_web_url)] | None = None
    webhook_secret_env: str | None = None
    webhook_secret_file: str | None = None

    @model_validator(mode="after")
    def _something(self) -> PublishSpec:
        if not (self.tag or self.manifest or self.webhook):
            raise ValueError(
                "'publish' publishes nothing: set tag: true, manifest: true or a webhook URL"
            )
        one_source(self, "webhook_secret")
        if (self.webhook_secret_env or self.webhook_secret_file) and not self.webhook:
            raise ValueError("a webhook secret signs a webhook: give 'webhook' its URL too")
        return self


class LevelSpec(Spec):
    name: Segment
    below: Segment | None = None
    jobs: Annotated[list[AnyJobSpec], BeforeValidator(_job_entries), AfterValidator(_some_jobs)]
    #: None: the CI's own results account only.
    accounts: Annotated[list[Account], BeforeValidator(as_list), Field(min_length=1)] | None = None
    soak: Period | None = None
    max_age: Period | None = None
    approvals: Annotated[ApprovalsSpec, BeforeValidator(_approvals)] | None = None
    publish: PublishSpec | None = None

    @model_validator(mode="after")
    def _soak_needs_below(self) -> LevelSpec:
        if self.soak is not None and self.below is None:
            raise ValueError(
                "'soak' is the time spent at the level below, but this level has none: "
                "remove 'soak', or name the level below with 'below'"
            )
        return self


class ChannelSpec(Spec):
    name: Segment
    level: Segment = Field(alias="from")


def _some(what: str) -> Any:
    def check(value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError(f"a scenario needs at least one {what}")
        return value

    return AfterValidator(check)


class ScenarioSpec(Spec):
    name: Segment
    description: str = ""
    #: A cron schedule (UTC): a candidate of the components' refs at each tick.
    snapshot: Annotated[str, AfterValidator(cron_schedule)] | None = None
    components: Annotated[list[ComponentSpec], _some("component")]
    levels: Annotated[list[LevelSpec], _some("level")]
    channels: list[ChannelSpec] = Field(default_factory=list)
