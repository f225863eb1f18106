"""Migration 0006 on both engines: `items.context` added to a store with items in it;
an item planned before it reads as built from its own change alone."""

from __future__ import annotations

from sqlalchemy import text

from crosscheck.model.item_context import ItemContext
from crosscheck.model.states import ItemState
from crosscheck.store import open_store, work
from crosscheck.store.context_codec import load_context
from tests.integration.old_stores import store_at


async def test_a_store_at_0005_gains_item_context_and_keeps_its_items(store_url: str) -> None:
    async with store_at(store_url, "0005") as db:
        await db.execute(
            text(
                "INSERT INTO items (pipeline, connection, project, branch, change_number, "
                "patchset, revision, event, state, created_at) VALUES ('check', 'review', "
                "'acme/driver', 'master', 7, 1, 'abc', '{}', 'running', "
                "'2026-12-06 00:00:00+00:00')"
            )
        )
    engine = await open_store(store_url)
    try:
        async with engine.connect() as db:
            (item,) = await work.items_in(db, ItemState.RUNNING)
    finally:
        await engine.dispose()
    assert item.context is None
    assert load_context(item.context) == ItemContext()
