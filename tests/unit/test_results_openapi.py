"""The results service's OpenAPI document describes the error bodies it really sends."""

from __future__ import annotations

from typing import Any

import pytest

from crosscheck.http.storable import json_problems, request_problems, unstorable
from crosscheck.results.service import ResultsService
from crosscheck.serve.results_app import create_results_app


def document() -> dict[str, Any]:
    # The document is built from the routes alone: no store is needed.
    return create_results_app(ResultsService(None)).openapi()  # type: ignore[arg-type]


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document()["paths"].items()
        for method, operation in methods.items()
    ]


def test_no_route_advertises_fastapis_own_validation_body() -> None:
    schemas = document()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas


def test_every_error_answer_is_documented_with_the_body_sent() -> None:
    error_ref = "#/components/schemas/ErrorOut"
    checked = 0
    for method, path, operation in operations():
        assert "422" in operation["responses"], f"{method} {path}"
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": error_ref}, f"{method} {path} {status}"
                checked += 1
    assert checked > 100
    assert set(document()["components"]["schemas"]["ErrorOut"]["properties"]) == {
        "detail",
        "errors",
    }


def test_every_operation_taking_a_body_documents_its_refusal_before_the_route() -> None:
    """Not JSON (400), larger than 16 MiB (413), compressed (415): the middleware's."""
    with_body = [(m, p, o) for m, p, o in operations() if "requestBody" in o]
    assert len(with_body) > 5
    for method, path, operation in with_body:
        assert {"400", "413", "415"} <= set(operation["responses"]), f"{method} {path}"
    without = [o for _, _, o in operations() if "requestBody" not in o]
    assert all("415" not in operation["responses"] for operation in without)


def test_the_verify_status_400_is_documented() -> None:
    posts = [
        operation
        for method, path, operation in operations()
        if method == "post" and "verify-status" in path
    ]
    assert posts
    assert all("400" in operation["responses"] for operation in posts)


def test_change_and_patchset_numbers_are_bounded_as_gerrit_bounds_them() -> None:
    bounded = 0
    for _, _, operation in operations():
        for parameter in operation.get("parameters", []):
            if parameter["name"] in ("change", "patchset") and parameter["in"] != "header":
                schema = parameter["schema"]
                schema = next((s for s in schema.get("anyOf", [schema]) if "maximum" in s), schema)
                if "maximum" in schema:
                    assert schema["maximum"] == 2**31 - 1
                    bounded += 1
    assert bounded >= 4
    result = document()["components"]["schemas"]["ResultIn"]["properties"]
    assert result["change"]["maximum"] == 2**31 - 1
    assert result["patchset"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize(
    ("text", "words"),
    [("a\x00", "NUL"), ("\ud800", "surrogate"), ("x\udfffy", "surrogate")],
)
def test_unstorable_strings_are_named(text: str, words: str) -> None:
    reason = unstorable(text)
    assert reason is not None
    assert words in reason


def test_storable_strings_pass() -> None:
    assert unstorable("tempest-full ✓ 日本 \U0001f600 \t\n") is None


def test_unstorable_strings_are_located_in_json() -> None:
    value = {"results": [{"job": "ok"}, {"job": "\ud800", "tags": ["a", "b\x00"]}], "k\x00": 1}
    assert [where for where, _ in json_problems(value)] == [
        "results[1].job",
        "results[1].tags[1]",
        "body",
    ]


def test_a_nul_in_a_query_is_located_by_its_name() -> None:
    scope = {"path": "/api/v1/changes/1/results", "query_string": b"ci=a&job=x%00"}
    assert [where for where, _ in request_problems(scope)] == ["job (query parameter)"]
