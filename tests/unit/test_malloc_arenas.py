"""serve limits glibc's malloc arenas before its threads start."""

from __future__ import annotations

import asyncio
import ctypes
import platform
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.serve import memory


def test_glibc_takes_the_limit() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.fail(f"this machine's C library is {platform.libc_ver()}, not glibc: say so")
    assert memory.limit_malloc_arenas() is True


def test_a_c_library_without_mallopt_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoMallopt:
        def __init__(self, name: str) -> None:
            self.name = name

        def __getattr__(self, attribute: str) -> object:
            raise AttributeError(attribute)

    monkeypatch.setattr(ctypes, "CDLL", NoMallopt)
    assert memory.limit_malloc_arenas() is False


def test_serve_limits_the_arenas_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from crosscheck.cli import serve as serve_command  # noqa: PLC0415
    from crosscheck.serve import lifecycle  # noqa: PLC0415

    order: list[str] = []

    async def started(options: object) -> None:
        order.append("started")

    monkeypatch.setattr(serve_command, "limit_malloc_arenas", lambda: order.append("limited"))
    monkeypatch.setattr(lifecycle, "serve", started)
    config = tmp_path / "crosscheck.yaml"
    config.write_text("[]\n")
    result = CliRunner().invoke(serve_command.serve, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    assert order == ["limited", "started"]


def _resident_mib() -> float:
    return memory._resident_kib() / 1024


def test_trimming_gives_freed_heap_back_to_the_system() -> None:
    # Blocks too big for Python's own allocator and too small for mmap: glibc's heap.
    # Every 64th kept, so the heap's top cannot shrink by itself.
    blocks = [bytearray(2048) for _ in range(60_000)]
    kept = blocks[::64]
    del blocks
    before = _resident_mib()
    assert memory.trim_heap() is True
    after = _resident_mib()
    assert before - after > 50, f"{before:.0f} MiB resident before the trim, {after:.0f} after"
    assert len(kept) == 938


async def test_the_heap_is_trimmed_once_after_a_spell_of_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trims: list[float] = []

    def trimmed() -> bool:
        trims.append(time.monotonic())
        return True

    monkeypatch.setattr(memory, "trim_heap", trimmed)
    trim = memory.QuietTrim(quiet=0.2)
    running = asyncio.ensure_future(trim.run())
    try:
        await asyncio.sleep(0.3)
        assert trims == [], "nothing moved yet: nothing to give back"
        for _ in range(5):
            trim.moved()
            await asyncio.sleep(0.1)
        last_move = time.monotonic()
        assert trims == [], "still moving"
        await asyncio.sleep(0.4)
        assert len(trims) == 1
        assert trims[0] - last_move >= 0.1
        await asyncio.sleep(0.5)
        assert len(trims) == 1, "an idle serve is not trimmed again"
        trim.moved()
        await asyncio.sleep(0.4)
        assert len(trims) == 2
    finally:
        running.cancel()
