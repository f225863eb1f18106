"""The bodies of the operator API's writes, and of their answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crosscheck.operator.status import ItemView

Number = Annotated[int, Field(ge=1, le=2**31 - 1)]
Name = Annotated[str, Field(min_length=1, max_length=300)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnqueueBody(_Body):
    pipeline: Name
    change: Number
    #: The current patchset when left out.
    patchset: Number | None = None
    #: The only connection the pipeline uses when left out.
    connection: Name | None = None
    #: Read from Gerrit; when given, it must be the change's project.
    project: Name | None = None


class DequeueBody(_Body):
    """Either `item`, or `pipeline` and `change` (and optionally `patchset`, `connection`)."""

    item: Number | None = None
    pipeline: Name | None = None
    change: Number | None = None
    #: Every queued patchset of the change when left out.
    patchset: Number | None = None
    connection: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> DequeueBody:
        by_change = [
            k for k in ("pipeline", "change", "patchset", "connection") if getattr(self, k)
        ]
        if self.item is not None:
            if by_change:
                raise ValueError(
                    f"give item alone, or pipeline and change; not item with {', '.join(by_change)}"
                )
        elif self.pipeline is None or self.change is None:
            raise ValueError("give the item to dequeue, or its pipeline and change")
        return self


class EnqueueAnswer(BaseModel):
    item: ItemView


class DequeueAnswer(BaseModel):
    dequeued: list[ItemView]
