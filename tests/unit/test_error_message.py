"""One line from an error answer, whatever answered: the results service, serve, a plain
FastAPI app, or a proxy in between."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crosscheck.http.error_message import MAX_LENGTH, error_message


def answer(body: Any = None, *, text: str | None = None, status: int = 422) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    return httpx.Response(status, json=body)


def test_the_located_problems_of_the_results_service_each_once() -> None:
    body = {
        "detail": "results[1].value: not a value; results[2]: too late",
        "errors": [
            {"field": "results[1].value", "message": "not a value"},
            {"field": "results[2]", "message": "too late"},
            {"field": "", "message": "the batch is empty"},
        ],
    }
    assert error_message(answer(body)) == (
        "results[1].value: not a value; results[2]: too late; the batch is empty"
    )


def test_fastapi_validation_errors_name_their_fields() -> None:
    body = {
        "detail": [
            {"loc": ["body", "change"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "results", 3, "value"], "msg": "bad", "type": "x"},
            {"loc": ["query", "history"], "msg": "not a boolean", "type": "x"},
            "something else",
        ]
    }
    assert error_message(answer(body)) == (
        "change: Field required; results[3].value: bad; "
        "history (query parameter): not a boolean; something else"
    )


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (answer({"detail": "unknown pipeline 'chek'"}, status=404), "unknown pipeline 'chek'"),
        (answer({"detail": "Not Found"}, status=404), "Not Found"),
        (answer({"detail": "x", "errors": []}), "x"),
        (answer({"message": "no detail"}), "{'message': 'no detail'}"),
        (answer(["a", "list"]), "['a', 'list']"),
        (answer(text="<html>\n  <h1>502 Bad Gateway</h1>\n</html>\n", status=502),
         "<html> <h1>502 Bad Gateway</h1> </html>"),
        (answer(text="", status=500), "(no message)"),
    ],
)  # fmt: skip
def test_anything_else_is_its_detail_or_the_start_of_the_body_on_one_line(
    response: httpx.Response, message: str
) -> None:
    assert error_message(response) == message


def test_a_long_page_is_cut() -> None:
    assert len(error_message(answer(text="x" * 10_000, status=502))) == MAX_LENGTH


def test_what_a_terminal_would_act_on_is_shown_escaped() -> None:
    hostile = answer({"detail": "no\x1b]0;owned\x07 \x1b[2Jway"}, status=403)
    assert error_message(hostile) == "no\\x1b]0;owned\\x07 \\x1b[2Jway"
    located = answer({"detail": "bad", "errors": [{"field": "job", "message": "\x1b[31m!"}]})
    assert "\x1b" not in error_message(located)
