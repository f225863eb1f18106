"""The Gerrit driver's configuration: its connection element and its trigger rules.

`GERRIT` is what `config/` reads through drivers/registry.py: the specs that check
what an operator wrote (Gerrit's event names, with a "did you mean"; Gerrit account
names; the HTTP password never inline) and the builders of the model's
`GerritConnection` and `GerritTrigger`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from crosscheck.drivers.config import ConnectionSpec, DriverConfig, PathResolver, TriggerContext
from crosscheck.model.connection import GerritConnection
from crosscheck.model.event_types import EventType
from crosscheck.model.pipeline import GerritTrigger, recheck_pattern, run_pattern
from crosscheck.specs import Port, Regex, Spec, as_list, no_inline, one_source

#: The Gerrit event types a trigger may name.
EVENTS = frozenset(t.value for t in EventType)
#: A Gerrit username or an email address: no spaces, no separators.
ACCOUNT_PATTERN = re.compile(r"^[^\s,;]+$")


def _event(value: str) -> str:
    if "," in value:
        raise ValueError(
            f"{value!r} is one string: list several events as [patchset-created, comment-added]"
        )
    if value not in EVENTS:
        close = [e for e in sorted(EVENTS) if e.split("-")[0] in value]
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(
            f"unknown Gerrit event '{value}'{hint} (one of: " + ", ".join(sorted(EVENTS)) + ")"
        )
    return value


def _account(value: str) -> str:
    if not ACCOUNT_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not an account: give usernames or emails, one per list entry, "
            "e.g. ignore_accounts: [other-ci, bot@example.org]"
        )
    return value


class GerritConnectionSpec(ConnectionSpec):
    driver: Literal["gerrit"] = "gerrit"
    host: str
    user: str
    http_url: Annotated[str, Field(pattern=r"^https?://[^/@]+(/.*)?$")]
    ssh_port: Port = 29418
    ssh_key: str | None = None
    known_hosts: str | None = None
    verify_host_keys: bool = True
    http_password_env: str | None = None
    http_password_file: str | None = None
    webhook_token_env: str | None = None
    webhook_token_file: str | None = None
    #: Events by `user` (the CI account) trigger nothing.
    ignore_own_events: bool = True
    #: Accounts (other CIs, bots) whose events trigger nothing: usernames or emails.
    ignore_accounts: Annotated[
        list[Annotated[str, AfterValidator(_account)]], BeforeValidator(as_list)
    ] = Field(default_factory=list)
    #: Refused with its own message, and never offered as a "did you mean".
    http_password: Annotated[Any, no_inline("http_password")] = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _one_password_source(self) -> GerritConnectionSpec:
        one_source(self, "http_password")
        return self


class GerritTriggerSpec(Spec):
    event: Annotated[
        list[Annotated[str, AfterValidator(_event)]], BeforeValidator(as_list), Field(min_length=1)
    ]
    project: Regex | None = None
    branch: Regex | None = None
    ref: Regex | None = None
    comment: Regex | None = None
    username: Regex | None = None
    email: Regex | None = None
    approval: dict[str, int] = Field(default_factory=dict)


def build_connection(spec: GerritConnectionSpec, path: PathResolver) -> GerritConnection:
    return GerritConnection(
        name=spec.name,
        host=spec.host,
        user=spec.user,
        http_url=spec.http_url,
        ssh_port=spec.ssh_port,
        ssh_key=path(spec.ssh_key),
        known_hosts=path(spec.known_hosts),
        verify_host_keys=spec.verify_host_keys,
        http_password_env=spec.http_password_env,
        http_password_file=path(spec.http_password_file),
        webhook_token_env=spec.webhook_token_env,
        webhook_token_file=path(spec.webhook_token_file),
        ignore_own_events=spec.ignore_own_events,
        ignore_accounts=frozenset(a.casefold() for a in spec.ignore_accounts),
    )


def build_trigger(spec: GerritTriggerSpec, context: TriggerContext) -> GerritTrigger:
    comment = spec.comment
    # `run <ci>` works on every comment trigger, whatever the operator's pattern; a
    # trigger on votes alone is about the votes, not the words.
    by_comment = "comment-added" in spec.event and not spec.approval
    if comment is None and by_comment:
        comment = recheck_pattern(context.run_name)
    return GerritTrigger(
        connection=context.connection,
        events=frozenset(spec.event),
        project=_compile(spec.project),
        branch=_compile(spec.branch),
        ref=_compile(spec.ref),
        comment=_compile(comment),
        run_comment=re.compile(run_pattern(context.run_name)) if by_comment else None,
        username=_compile(spec.username),
        email=_compile(spec.email),
        approvals=dict(spec.approval),
    )


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern is not None else None


GERRIT = DriverConfig(
    name="gerrit",
    connection_spec=GerritConnectionSpec,
    trigger_spec=GerritTriggerSpec,
    connection=build_connection,
    trigger=build_trigger,
)
