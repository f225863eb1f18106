"""Following a console.log: whole lines from a line on, a partial line held until its
newline, woken by the hub rather than the poll, and the end once the build ended and
the file was read through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from pathlib import Path

from crosscheck.console.follow import Line, LineReader, Where, follow, lines_of
from crosscheck.console.hub import ConsoleHub


def write(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_lines_from_a_line_on_and_a_held_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("one\ntwo\nthree\nfour\nhalf")
    assert [line.text for line in lines_of(path, complete=False)] == [
        "one",
        "two",
        "three",
        "four",
    ]
    assert list(lines_of(path, 3, complete=True)) == [
        Line(3, "three"),
        Line(4, "four"),
        Line(5, "half"),
    ]
    assert list(lines_of(path, 9, complete=True)) == []


def test_a_reader_counts_lines_across_small_reads(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_bytes("".join(f"line {n} é\n" for n in range(1, 101)).encode())
    reader = LineReader(path, start=42)
    read: list[Line] = []
    while True:
        read += reader.read(limit=7)  # chunks cut lines and characters anywhere
        if reader.at_end:
            break
    reader.close()
    assert [line.number for line in read] == list(range(42, 101))
    assert read[0].text == "line 42 é"
    assert reader.next_number == 101


def test_a_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("done\nhal")
    with LineReader(path) as reader:
        assert reader.read() == [Line(1, "done")]
        write(path, "f a line\nnext")
        assert reader.read() == [Line(2, "half a line")]
        assert reader.rest() == [Line(3, "next")]


class Build:
    """A build's row as the follower sees it: where its console is, whether it runs."""

    def __init__(self, path: Path | None, live: bool = True) -> None:
        self.path = path
        self.live = live
        self.looks = 0

    async def locate(self) -> Where:
        self.looks += 1
        return Where(self.path, self.live)


async def collect(batches: AsyncGenerator[list[Line], None], into: list[Line]) -> None:
    async for batch in batches:
        into.extend(batch)


async def until_count(got: list[Line], count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"{count} lines never came: {got}"
        await asyncio.sleep(0.002)


async def test_follows_a_running_build_until_it_ended_and_was_read_through(
    tmp_path: Path,
) -> None:
    path = tmp_path / "console.log"
    path.write_text("header\n")
    hub = ConsoleHub()
    build = Build(path)
    got: list[Line] = []
    with hub.watch("b1") as watch:
        # A long poll: every line below must come through the hub, not the poll.
        following = asyncio.create_task(collect(follow(build.locate, watch, poll=30), got))
        await until_count(got, 1)
        for number in range(2, 5):
            began = time.monotonic()
            write(path, f"line {number}\n")
            hub.wrote("b1")
            await until_count(got, number)
            assert time.monotonic() - began < 0.25
        write(path, "partial")
        hub.wrote("b1")
        await asyncio.sleep(0.05)
        assert len(got) == 4  # held until its newline, or the end
        looks = build.looks
        # The last line is written, then the row moves: the follower reads to the end.
        write(path, " and its end\nthe result\n")
        build.live = False
        hub.wrote("b1")
        await until_count(got, 6)
        assert build.looks == looks  # a wake is a line, not a reason to ask the store
        following.cancel()
    assert [line.text for line in got] == ["header", "line 2", "line 3", "line 4",
                                           "partial and its end", "the result"]  # fmt: skip


async def test_the_end_comes_with_the_poll_and_a_held_last_line(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("one\ncut short")
    hub = ConsoleHub()
    build = Build(path, live=False)  # a crash left half a line
    got: list[Line] = []
    with hub.watch("b1") as watch:
        began = time.monotonic()
        await asyncio.wait_for(collect(follow(build.locate, watch, 2, poll=0.05), got), 5)
    assert got == [Line(2, "cut short")]
    assert time.monotonic() - began < 1


async def test_a_live_build_ends_once_its_row_moved_and_the_poll_looked(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("one\n")
    hub = ConsoleHub()
    build = Build(path)
    got: list[Line] = []
    with hub.watch("b1") as watch:
        following = asyncio.create_task(collect(follow(build.locate, watch, poll=0.05), got))
        await until_count(got, 1)
        write(path, "last\n")
        build.live = False  # no wake: another process wrote it
        await asyncio.wait_for(following, 5)
    assert [line.text for line in got] == ["one", "last"]


async def test_a_waiting_build_is_followed_from_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "b1" / "console.log"
    hub = ConsoleHub()
    build = Build(None)
    got: list[Line] = []
    with hub.watch("b1") as watch:
        following = asyncio.create_task(collect(follow(build.locate, watch, poll=30), got))
        await asyncio.sleep(0.05)
        path.parent.mkdir(parents=True)
        path.write_text("started\n")
        build.path = path
        hub.wrote("b1")  # the executor's header line
        await until_count(got, 1)
        following.cancel()
    assert got == [Line(1, "started")]


async def test_a_build_that_never_started_ends_without_lines(tmp_path: Path) -> None:
    hub = ConsoleHub()
    with hub.watch("b1") as watch:
        batches = [b async for b in follow(Build(None, live=False).locate, watch)]
    assert batches == []


async def test_heartbeats_while_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("")
    hub = ConsoleHub()
    with hub.watch("b1") as watch:
        batches = follow(Build(path).locate, watch, poll=30, heartbeat=0.05)
        began = time.monotonic()
        assert await asyncio.wait_for(anext(batches), 5) == []
        assert await asyncio.wait_for(anext(batches), 5) == []
        assert 0.09 < time.monotonic() - began < 2
        await batches.aclose()
