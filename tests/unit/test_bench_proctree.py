"""The benches' reading of a process tree's CPU: schedstat to the nanosecond, where
/proc/PID/stat counts clock ticks of 10 ms."""

from __future__ import annotations

import os
import time

from bench.peers.proctree import cpu_seconds, on_cpu_seconds, wakeups


def test_schedstat_counts_a_few_milliseconds_that_ticks_may_miss() -> None:
    me = [os.getpid()]
    before, ticks_before = on_cpu_seconds(me), cpu_seconds(me)
    busy_until = time.thread_time() + 0.2
    while time.thread_time() < busy_until:
        pass
    spent = on_cpu_seconds(me) - before
    # The busy loop, and little else; schedstat may lag the thread's own clock by a tick.
    assert 0.15 <= spent < 5
    assert cpu_seconds(me) - ticks_before >= 0


def test_a_process_that_is_gone_counts_nothing() -> None:
    assert on_cpu_seconds([2**22 + 12345]) == 0.0  # above the kernel's pid limit
    assert wakeups([2**22 + 12345]) == 0


def test_a_living_process_has_been_scheduled_in() -> None:
    assert wakeups([os.getpid()]) > 0
