"""serve's OpenAPI document builds without a warning (pytest turns warnings into
errors): every operation has an id of its own."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crosscheck.operator.router import operator_router
from crosscheck.serve.web_app import web_app
from tests.fakes.gerrit import FakeGerrit

from .operator.harness import (
    ADMIN_TOKEN,
    CI_WITH_TOKEN,
    CONFIG,
    TOKEN_VARIABLE,
    load,
    scheduler_for,
)
from .scheduler.fakes import FakeExecutor


async def test_serves_openapi_document_has_unique_operation_ids_and_no_warning(
    tmp_path: Path, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    config = load(tmp_path, CI_WITH_TOKEN + CONFIG)
    app = web_app(config, engine, {}, tmp_path / "logs")
    app.include_router(
        operator_router(scheduler_for(engine, config, FakeExecutor({}), FakeGerrit()))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        document = app.openapi()
    ids = Counter(
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
    )
    assert [name for name, count in ids.items() if count > 1] == []
    assert "/logs/{path}" in document["paths"]  # the build logs are documented
    # The body refusals of the middleware, on the operator's and the nodes' writes too.
    with_body = [
        (path, operation)
        for path, methods in document["paths"].items()
        for operation in methods.values()
        if "requestBody" in operation
    ]
    assert "/api/v1/enqueue" in [path for path, _ in with_body]
    for path, operation in with_body:
        assert {"400", "413", "415"} <= set(operation["responses"]), path
