from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crosscheck.results.service import ResultsService
from crosscheck.store import open_store


@pytest.fixture
async def service(store_url: str) -> AsyncIterator[ResultsService]:
    engine = await open_store(store_url)
    try:
        # Tests place results at fixed dates (2024): no oldest age here; the window has
        # tests of its own.
        yield ResultsService(engine, max_age=None)
    finally:
        await engine.dispose()
