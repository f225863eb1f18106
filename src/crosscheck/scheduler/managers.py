"""Pipeline managers: how the items of one pipeline relate to each other.

A manager decides three things: what an enqueue supersedes, whether an item waits
its turn before it is planned, and which items are planned one after the other (a
lane) rather than at once. `manager_for(pipeline)` gives the pipeline's; the
scheduler and the store ask it and never look at the `Manager` value themselves.

Room is left for two more, not implemented yet:

- dependent (Zuul's gate): the items of the projects sharing a queue line up, each
  built on top of the changes ahead of it. An enqueue would supersede only the
  change's own older patchsets; an item would wait until those ahead of it are
  planned, and a failure ahead would decide which items behind restart without it.
- promote: an item is a release candidate at a level. An enqueue would supersede the
  older candidates of the same level not yet promoted; an item would wait until its
  candidate passed the level below.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.events import Event
from crosscheck.model.pipeline import Manager, Pipeline
from crosscheck.model.states import ItemState
from crosscheck.store import work


class PipelineManager(Protocol):
    async def supersede(self, db: AsyncConnection, pipeline: str, event: Event) -> None:
        """End the items an item enqueued for `event` in `pipeline` replaces."""

    async def waits_its_turn(self, db: AsyncConnection, item: work.ItemRow) -> bool:
        """Whether a new item stays new for now, to be planned on a later pass."""

    def lane(self, item: work.ItemRow) -> Hashable:
        """Items in one lane are planned in order: one may wait for the other's start."""


class IndependentManager:
    """Every item runs on its own (check): a new patchset supersedes the change's older
    patchsets' items; no item waits for another."""

    async def supersede(self, db: AsyncConnection, pipeline: str, event: Event) -> None:
        change, patchset = event.change, event.patchset
        if change is None or patchset is None:
            return
        older = await work.older_patchset_items(
            db, pipeline, event.connection, change.number, patchset.number
        )
        detail = f"patchset {patchset.number} superseded it"
        await work.end_items(db, older, ItemState.SUPERSEDED, detail)

    async def waits_its_turn(self, db: AsyncConnection, item: work.ItemRow) -> bool:
        return False

    def lane(self, item: work.ItemRow) -> Hashable:
        return item.id


class SupercedentManager:
    """One item runs per project and branch (post, periodic): the running one finishes,
    while a newer item replaces the one waiting, so one runs and one waits per branch."""

    async def supersede(self, db: AsyncConnection, pipeline: str, event: Event) -> None:
        waiting = await work.new_items_of_branch(
            db, pipeline, event.connection, event.project or "", work.branch_of(event)
        )
        await work.end_items(db, waiting, ItemState.SUPERSEDED, "a newer item replaced it")

    async def waits_its_turn(self, db: AsyncConnection, item: work.ItemRow) -> bool:
        return await work.older_running(db, item)

    def lane(self, item: work.ItemRow) -> Hashable:
        return (item.pipeline, item.connection, item.project, item.branch)


_MANAGERS: Mapping[Manager, PipelineManager] = {
    Manager.INDEPENDENT: IndependentManager(),
    Manager.SUPERCEDENT: SupercedentManager(),
}


def manager_for(pipeline: Pipeline) -> PipelineManager:
    return _MANAGERS[pipeline.manager]
