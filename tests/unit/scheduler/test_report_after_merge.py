"""A post-merge pipeline's report says it is about a merged change, so the Gerrit
reporter posts it; a check pipeline's report does not, so a merged change skips it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.model.event_types import EventType

from .fakes import FakeExecutor, settle
from .test_scheduler import CONFIG, accept, load, patchset_created, queued_reports, scheduler_for

POST = """
- pipeline:
    name: post
    manager: independent
    trigger:
      review:
        - event: change-merged
    success:
      review: {comment: true}
    failure:
      review: {comment: true}
"""


async def test_only_a_change_merged_item_reports_after_the_merge(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    config = load(tmp_path, POST + CONFIG + "    post:\n      jobs: [unit]\n")
    scheduler = scheduler_for(engine, config, FakeExecutor({}), ["driver.py"])
    await accept(scheduler, patchset_created(7, 1))
    merged = replace(patchset_created(8, 1), type=EventType.CHANGE_MERGED)
    await accept(scheduler, merged)
    await settle(scheduler)
    by_change = {r.change_number: json.loads(r.payload) for r in await queued_reports(engine)}
    assert by_change[8].get("after_merge") is True
    assert "after_merge" not in by_change[7]
