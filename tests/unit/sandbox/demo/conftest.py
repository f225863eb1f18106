"""Every stand-in serve a demo test starts is stopped afterwards, pass or fail."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosscheck.sandbox.demo import BackgroundServe

from .sleepers import SLEEPER, ServeFactory


@pytest.fixture
def make_serve() -> Iterator[ServeFactory]:
    """BackgroundServe(directory, command), each stopped after the test."""
    with contextlib.ExitStack() as stops:  # each is stopped even if another's stop fails

        def make(directory: Path, command: tuple[str, ...] = SLEEPER) -> BackgroundServe:
            background = BackgroundServe(directory, command)
            stops.callback(background.stop, timeout=0.5)
            return background

        yield make
