from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crosscheck.results.service import ResultsService
from crosscheck.store import open_store


@pytest.fixture
async def service(store_url: str) -> AsyncIterator[ResultsService]:
    engine = await open_store(store_url)
    try:
        yield ResultsService(engine)
    finally:
        await engine.dispose()
