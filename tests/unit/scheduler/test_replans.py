"""Items planned again later: a growing delay, told at each new delay only."""

from __future__ import annotations

import pytest

from crosscheck.scheduler.replans import MAX_DELAY, Replans


def test_a_server_away_is_tried_after_growing_delays_and_said_at_each_new_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    replans = Replans(clock=lambda: now[0])
    delays = []
    for _ in range(8):
        replans.later(7, "item 7 (upstream:12,1 in check): cannot list its files yet")
        assert replans.waiting(7)
        start = now[0]
        while replans.waiting(7):
            now[0] += 0.5
        delays.append(now[0] - start)
    assert delays == [2.0, 4.0, 8.0, 16.0, MAX_DELAY, MAX_DELAY, MAX_DELAY, MAX_DELAY]
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 5  # not once a pass: once per new delay
    assert told[0].endswith("trying again in 2s")
    assert not replans.waiting(8)
    replans.later(8, "item 8")
    replans.now()  # the server is back
    assert not replans.waiting(8)
    replans.forget(7)
    replans.later(7, "item 7 again")
    assert caplog.records[-1].getMessage().endswith("trying again in 2s")  # from the start
