"""The bodies of the nodes API's writes, and of its answers (the page shows the same)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from crosscheck.executor.node_views import NodeView
from crosscheck.specs.fields import Period
from crosscheck.store.nodes import Autohold

DAY = 86400
#: An autohold keeps a whole node out of rotation: a month is plenty to debug a failure.
MAX_AUTOHOLD = 30 * DAY
DEFAULT_AUTOHOLD = DAY
#: Far enough for any real hold, near enough that `now + for` is always a valid date.
MAX_HOLD = 365 * DAY
#: As the store's `held_by` and `created_by` columns.
MAX_BY = 200
MAX_REASON = 2000


def _at_most(limit: int, written: str) -> Callable[[int], int]:
    def check(seconds: int) -> int:
        if seconds > limit:
            raise ValueError(f"at most {written} ({limit} seconds), not {seconds} seconds")
        return seconds

    return check


def _reason(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("give a reason: operators read it to know why the node is out")
    if len(text) > MAX_REASON:
        raise ValueError(f"at most {MAX_REASON} characters")
    return text


def _by(text: str) -> str:
    text = text.strip()
    if not 1 <= len(text) <= MAX_BY:
        raise ValueError(f"who: 1 to {MAX_BY} characters")
    return text


Reason = Annotated[str, AfterValidator(_reason)]
By = Annotated[str, AfterValidator(_by)]
HoldFor = Annotated[Period, AfterValidator(_at_most(MAX_HOLD, "365d"))]
AutoholdFor = Annotated[Period, AfterValidator(_at_most(MAX_AUTOHOLD, "30d"))]
JobName = Annotated[str, Field(min_length=1, max_length=300)]
ProjectName = Annotated[str, Field(min_length=1, max_length=300)]
ChangeNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ByBody(_Body):
    """Release, drain, undrain: who did it, for the log."""

    by: By = "operator"


class HoldBody(ByBody):
    reason: Reason
    #: Seconds, or '2h', '1d12h'; left out: held until released.
    hold_for: HoldFor | None = Field(None, alias="for")


class AutoholdBody(_Body):
    job: JobName
    project: ProjectName | None = None
    change: ChangeNumber | None = None
    #: Failed builds to hold, one node (or POD) each.
    count: Annotated[int, Field(ge=1, le=100)] = 1
    #: How long each held node stays held unless released first.
    hold_for: AutoholdFor = Field(DEFAULT_AUTOHOLD, alias="for")
    reason: Reason
    by: By = "operator"


class NodeOut(BaseModel):
    name: str
    kind: str = Field(description="`local` (this host's slots) or `ssh`")
    host: str
    labels: list[str]
    pod: str | None
    state: str = Field(description="ready, in-use, held, drained, unhealthy, cleaning or unchecked")
    reason: str = Field(description="Why it is unhealthy; empty otherwise")
    builds: list[str] = Field(description="The ids of the builds running on it")
    slots: int
    held_by: str | None
    hold_reason: str
    hold_until: datetime | None = Field(description="null: held until released")
    kept_dir: str | None = Field(description="A failed build's work directory an autohold kept")
    drained: bool
    checked_at: datetime | None

    @classmethod
    def of(cls, view: NodeView) -> NodeOut:
        return cls.model_validate(view, from_attributes=True)


class AutoholdOut(BaseModel):
    id: int
    job: str
    project: str | None = Field(description="null: any project")
    change: int | None = Field(description="null: any change")
    remaining: int = Field(description="Failed builds still to hold")
    hold_for: int = Field(description="Seconds each held node stays held")
    reason: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, request: Autohold) -> AutoholdOut:
        return cls(
            id=request.id,
            job=request.job,
            project=request.project,
            change=request.change_number,
            remaining=request.remaining,
            hold_for=request.hold_for,
            reason=request.reason,
            created_by=request.created_by,
            created_at=request.created_at,
        )


class AutoholdsOut(BaseModel):
    autoholds: list[AutoholdOut]


class NodesOut(AutoholdsOut):
    """Every node (this host's slots first) and the autohold requests."""

    nodes: list[NodeOut]
