"""A store outage is one warning a minute, with how many requests were turned away."""

from __future__ import annotations

import logging

import pytest

from crosscheck.http.store_outage import SAY_EVERY, OutageLog


def test_an_outage_is_said_once_a_minute_with_the_requests_turned_away_since(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    outage = OutageLog(lambda: now[0])
    caplog.set_level(logging.WARNING, logger="crosscheck.http.store_outage")
    for _ in range(5):
        outage.turned_away("OSError: [Errno 111] Connection refused")
        now[0] += 1
    now[0] = SAY_EVERY
    outage.turned_away("OSError: [Errno 111] Connection refused")
    assert [r.getMessage() for r in caplog.records] == [
        "the store does not answer (OSError: [Errno 111] Connection refused): requests get 503",
        "the store does not answer (OSError: [Errno 111] Connection refused): requests get "
        "503; 4 more request(s) turned away since the last line",
    ]
