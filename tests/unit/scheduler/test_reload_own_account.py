"""A reload that renames the CI account leaves the stream running as the old one: the
scheduler's own-account filter must keep ignoring that account's reports (a vote storm
otherwise) until serve is restarted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.config.live import LiveConfig
from crosscheck.events.intake import EventIntake
from crosscheck.model.events import Account
from crosscheck.reports.queue import ReportQueue
from crosscheck.scheduler.scheduler import Scheduler

from .fakes import FakeChanges, FakeExecutor
from .test_upstream_safety import CONFIG, event, ignored, item_rows


async def test_the_ci_accounts_own_report_stays_ignored_after_a_reload_renames_it(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "crosscheck.yaml"
    path.write_text(CONFIG.format(current_only="true"))
    live = LiveConfig([path])
    scheduler = Scheduler(
        engine,
        lambda: live.current,  # as serve passes it
        executor=FakeExecutor({}),
        reports=ReportQueue(engine, {}),
        connections=live.current.connections,
        changes={"review": FakeChanges(["driver.py"])},
        tick=0.05,
        results=ReportQueue(engine, {}),
    )
    intake = EventIntake(engine, scheduler.accept)
    path.write_text(path.read_text().replace("user: acme-ci", "user: acme-ci-2"))
    assert live.reload().ok
    assert "connection 'review' user changed" in caplog.text
    before = ignored("own-account")
    own = event(
        "comment-added",
        40,
        1,
        who=Account(username="acme-ci"),  # the stream still runs as acme-ci
        comment="Patch Set 1: Verified+1\n\nBuild succeeded (check pipeline).",
    )
    assert await intake.submit(own)
    assert await item_rows(engine) == []
    assert ignored("own-account") == before + 1
