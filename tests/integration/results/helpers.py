"""Builders for results and a look into the store, for the results tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from crosscheck.model.results import NewResult, ResultValue
from crosscheck.results.service import ResultsService
from crosscheck.store.tables import result_daily_counts, results

REVISION = "a" * 40


def new_result(**overrides: Any) -> NewResult:
    fields: dict[str, Any] = {
        "project": "openstack/nova",
        "change": 1234,
        "patchset": 1,
        "job": "tempest-full",
        "value": ResultValue.PASSED,
        "url": "https://ci.example.org/logs/1",
        "duration": 90.0,
    }
    fields.update(overrides)
    return NewResult(**fields)


async def stored_count(service: ResultsService) -> int:
    async with service.engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(results))).scalar_one()
        )


async def daily_count_total(service: ResultsService) -> int:
    async with service.engine.connect() as connection:
        total = (
            await connection.execute(select(func.sum(result_daily_counts.c.count)))
        ).scalar_one()
        return int(total or 0)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def plugin_json(answer: httpx.Response) -> Any:
    """A verify-status GET answer: Gerrit's `)]}'` line, then JSON, as the plugin sends."""
    assert answer.status_code == 200, answer.text
    prefix, _, body = answer.text.partition("\n")
    assert prefix == ")]}'"
    return json.loads(body)
