"""The results service's errors as HTTP answers: `{"detail": message, "errors": [...]}`.

Routes raise `ResultsHTTPError`; any FastAPI app renders it as `{"detail": ...}`.
`install_error_handlers(app)` adds the located `errors` list, gives request
validation errors and every other HTTP error (a page's 404, an unknown route) the
same shape with readable field paths (`results[3].value`). `error_responses`
documents that body in the OpenAPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from crosscheck.results.errors import (
    AuthenticationError,
    RateLimitedError,
    ResultsError,
    describe,
)


class FieldErrorOut(BaseModel):
    field: str = Field(description="Where: `results[3].value`, `job (query parameter)`, `body`")
    message: str


class ErrorOut(BaseModel):
    """Every error the results service answers, whatever its status."""

    detail: str = Field(description="What was refused and how to fix it, in one line")
    errors: list[FieldErrorOut] = Field(description="Each malformed field (may be empty)")


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request",
    401: "No or wrong credentials",
    403: "Not allowed, or the CI account is disabled",
    404: "Not found",
    409: "The name or SSH key is taken",
    422: "A field is malformed or holds what cannot be stored; `errors` says which",
    429: "Too many requests; see Retry-After",
    503: "The admin token cannot be read now",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, each with the body actually sent."""
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


class ResultsHTTPError(HTTPException):
    def __init__(
        self,
        status_code: int,
        message: str,
        problems: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, headers)
        self.problems = list(problems)


def http_error(error: ResultsError, prefix: str = "") -> ResultsHTTPError:
    """`prefix` turns the service's `[3].project` into `results[3].project`."""
    problems = [(_locate(prefix, where), message) for where, message in error.problems]
    message = describe(problems) if problems else str(error)
    headers: dict[str, str] = {}
    if isinstance(error, AuthenticationError):
        headers["WWW-Authenticate"] = 'Basic realm="crosscheck results"'
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(max(1, round(error.retry_after + 0.5)))
    return ResultsHTTPError(error.status_code, message, problems, headers or None)


def _locate(prefix: str, where: str) -> str:
    if not prefix:
        # A single result: "[0].url" is just "url".
        return where.split(".", 1)[1] if where.startswith("[0].") else where
    return f"{prefix}{where}" if where.startswith("[") else f"{prefix}.{where}".strip(".")


def field_path(location: Sequence[str | int]) -> str:
    """("body", "results", 3, "value") -> "results[3].value"."""
    parts = list(location)
    where = ""
    if parts and parts[0] in ("query", "path", "header"):
        return f"{'.'.join(str(p) for p in parts[1:])} ({parts[0]} parameter)"
    if parts and parts[0] == "body":
        parts = parts[1:]
    for part in parts:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where.lstrip(".") or "body"


def validation_problems(errors: Sequence[Any]) -> list[tuple[str, str]]:
    return [(field_path(error["loc"]), str(error["msg"])) for error in errors]


def _body(message: str, problems: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "detail": message,
        "errors": [{"field": where, "message": text} for where, text in problems],
    }


async def _results_http_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, ResultsHTTPError):  # registered for this class only
        raise error
    return JSONResponse(
        _body(str(error.detail), error.problems), error.status_code, headers=error.headers
    )


async def _http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, StarletteHTTPException):  # registered for this class only
        raise error
    if error.status_code in (204, 304):  # no body allowed
        return Response(status_code=error.status_code, headers=error.headers)
    return JSONResponse(
        {"detail": error.detail, "errors": []}, error.status_code, headers=error.headers
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RequestValidationError):  # registered for this class only
        raise error
    problems = validation_problems(error.errors())
    return JSONResponse(_body(describe(problems), problems), 422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ResultsHTTPError, _results_http_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
