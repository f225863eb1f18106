"""ConsoleHub: a write wakes the build's followers at once, from the loop or another
thread, and a wake that comes while a follower reads is not lost."""

from __future__ import annotations

import asyncio
import threading
import time

from crosscheck.console.hub import ConsoleHub


async def test_a_write_wakes_every_follower_of_that_build_only() -> None:
    hub = ConsoleHub()
    with hub.watch("b1") as first, hub.watch("b1") as second, hub.watch("b2") as other:
        assert hub.followers("b1") == 2
        waits = [asyncio.create_task(w.wait(5)) for w in (first, second)]
        await asyncio.sleep(0)
        began = time.monotonic()
        hub.wrote("b1")
        assert await asyncio.gather(*waits) == [True, True]
        assert time.monotonic() - began < 0.1
        assert await other.wait(0.01) is False
    assert hub.followers("b1") == 0


async def test_a_write_while_the_follower_reads_is_kept_for_its_next_wait() -> None:
    hub = ConsoleHub()
    with hub.watch("b1") as watch:
        hub.wrote("b1")  # nobody was waiting: the follower was reading the file
        hub.wrote("b1")
        assert await watch.wait(0) is True
        assert await watch.wait(0.01) is False  # two writes, one look: no second wake


async def test_a_write_from_another_thread_wakes_the_loop() -> None:
    hub = ConsoleHub()
    with hub.watch("b1") as watch:
        waiting = asyncio.create_task(watch.wait(5))
        await asyncio.sleep(0)
        threading.Thread(target=hub.wrote, args=("b1",)).start()
        began = time.monotonic()
        assert await waiting is True
        assert time.monotonic() - began < 0.5


async def test_a_wait_times_out_and_nobody_following_costs_nothing() -> None:
    hub = ConsoleHub()
    hub.wrote("nobody")  # no follower: nothing kept for anyone
    with hub.watch("nobody") as watch:
        assert await watch.wait(0.02) is False
    assert hub.followers("nobody") == 0


async def test_a_follower_that_left_is_forgotten_even_on_an_error() -> None:
    hub = ConsoleHub()
    try:
        with hub.watch("b1"):
            raise RuntimeError("the connection dropped")
    except RuntimeError:
        pass
    assert hub.followers("b1") == 0
    hub.wrote("b1")
