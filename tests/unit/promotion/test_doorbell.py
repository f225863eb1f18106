"""The publisher's doorbell: another process's `ring` wakes serve's publisher, also after
the directory was removed and made again; a link planted as the doorbell is not followed."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from crosscheck.promotion.publisher import DOORBELL, Publisher, ring


def publisher(manifests: Path) -> Publisher:
    engine: Any = None  # the doorbell never reads the store
    return Publisher(engine, dict, {}, manifests)


async def woken(publisher: Publisher) -> bool:
    try:
        await asyncio.wait_for(publisher._wake.wait(), 5)
    except TimeoutError:
        return False
    return True


async def test_a_ring_after_the_directory_was_made_again_still_wakes(tmp_path: Path) -> None:
    manifests = tmp_path / "promotions"
    bell = publisher(manifests)
    answering = asyncio.create_task(bell._answer_doorbell())
    try:
        await asyncio.sleep(0.2)  # watched
        ring(manifests)
        assert await woken(bell)
        bell._wake.clear()
        shutil.rmtree(manifests)
        assert await woken(bell)  # its removal: a ring may have been lost meanwhile
        bell._wake.clear()
        await asyncio.sleep(0.2)  # the new directory is watched
        ring(manifests)
        assert await woken(bell)
    finally:
        answering.cancel()


def test_a_link_planted_as_the_doorbell_is_not_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifests = tmp_path / "promotions"
    manifests.mkdir()
    target = tmp_path / "precious"
    target.write_text("untouched\n")
    before = target.stat().st_mtime_ns
    (manifests / DOORBELL).symlink_to(target)
    ring(manifests)
    assert target.stat().st_mtime_ns == before
    assert target.read_text() == "untouched\n"
    assert "cannot wake serve's publisher" in caplog.text


def test_the_doorbell_is_the_operators_alone(tmp_path: Path) -> None:
    ring(tmp_path)
    assert os.stat(tmp_path / DOORBELL).st_mode & 0o777 == 0o600
