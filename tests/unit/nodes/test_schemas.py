"""The bodies of the nodes API: durations as operators write them, and each refusal
located at its field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from crosscheck.nodes.schemas import AutoholdBody, ByBody, HoldBody
from crosscheck.nodes.spans import span


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("2h", 7200), ("90m", 5400), ("1d12h", 129600), (45, 45), ("365d", 365 * 86400)],
)
def test_a_hold_lasts_what_the_operator_wrote(written: object, seconds: int) -> None:
    body = HoldBody.model_validate({"reason": "firmware", "for": written})
    assert body.hold_for == seconds


def test_a_hold_without_for_lasts_until_released_and_by_defaults_to_operator() -> None:
    body = HoldBody.model_validate({"reason": "  firmware  "})
    assert (body.hold_for, body.by, body.reason) == (None, "operator", "firmware")


def fields(model: type[Any], data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({}, "reason", "Field required"),
        ({"reason": "   "}, "reason", "give a reason"),
        ({"reason": "x" * 2001}, "reason", "at most 2000"),
        ({"reason": "x", "for": "soon"}, "for", "not a period"),
        ({"reason": "x", "for": 0}, "for", "greater than 0"),
        ({"reason": "x", "for": "366d"}, "for", "at most 365d"),
        ({"reason": "x", "by": " "}, "by", "1 to 200"),
        ({"reason": "x", "until": "2h"}, "until", "Extra inputs"),
    ],
)
def test_a_malformed_hold_is_refused_at_its_field(
    data: dict[str, object], field: str, says: str
) -> None:
    assert says in fields(HoldBody, data)[field]


def test_an_autohold_holds_one_build_for_a_day_by_default() -> None:
    body = AutoholdBody.model_validate({"job": "acme-nfs", "reason": "flaky mount"})
    assert (body.count, body.hold_for, body.project, body.change) == (1, 86400, None, None)


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"reason": "x"}, "job", "Field required"),
        ({"job": "j"}, "reason", "Field required"),
        ({"job": "j", "reason": "x", "count": 0}, "count", "greater than or equal to 1"),
        ({"job": "j", "reason": "x", "count": 101}, "count", "less than or equal to 100"),
        ({"job": "j", "reason": "x", "for": "31d"}, "for", "at most 30d"),
        ({"job": "j", "reason": "x", "change": 0}, "change", "greater than or equal to 1"),
        ({"job": "", "reason": "x"}, "job", "at least 1 character"),
    ],
)
def test_a_malformed_autohold_is_refused_at_its_field(
    data: dict[str, object], field: str, says: str
) -> None:
    assert says in fields(AutoholdBody, data)[field]


def test_release_drain_and_undrain_take_only_who() -> None:
    assert ByBody.model_validate({}).by == "operator"
    assert "Extra inputs" in fields(ByBody, {"reason": "x"})["reason"]


@pytest.mark.parametrize(
    ("seconds", "written"),
    [(0, "0s"), (45, "45s"), (5400, "1h30m"), (86400, "1d"), (129601, "1d12h1s"), (-3, "0s")],
)
def test_spans_are_written_as_for_takes_them(seconds: int, written: str) -> None:
    assert span(seconds) == written
