"""An item enqueued: once per patchset and pipeline, after what it replaces ended.

Both the scheduler (an event's triggers) and the operator API (an explicit enqueue)
enqueue this way, inside the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crosscheck.model.events import Event
from crosscheck.model.pipeline import Pipeline
from crosscheck.scheduler.managers import manager_for
from crosscheck.store import work


async def enqueue_item(db: AsyncConnection, pipeline: Pipeline, event: Event) -> int | None:
    """Add an item for the event unless the same patchset is already queued; end what
    the new item replaces, as the pipeline's manager says. The new item's id, or None."""
    change, patchset = event.change, event.patchset
    if change is not None:
        number = patchset.number if patchset else None
        queued = await work.active_item(db, pipeline.name, event.connection, change.number, number)
        if queued is not None:
            return None
    await manager_for(pipeline).supersede(db, pipeline.name, event)
    return await work.add_item(db, pipeline.name, event)
