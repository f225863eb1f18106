"""Errors as HTTP answers: `{"detail": message, "errors": [{field, message}]}`.

Routes raise `LocatedHTTPError` (a status, a message, the located problems); any
FastAPI app renders it as `{"detail": ...}`. `install_error_handlers(app)` adds the
located `errors` list, and gives request validation errors and every other HTTP
error (a page's 404, an unknown route, an operator's refusal) the same shape with
readable field paths (`results[3].value`). `error_responses` documents that body in
the OpenAPI. Each service maps its own refusals onto `LocatedHTTPError` (the results
service in results/http_errors.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from crosscheck.http.body_limit import BodyEncodedError
from crosscheck.http.html_errors import error_page, reads_a_page
from crosscheck.http.problems import describe, validation_problems
from crosscheck.http.store_outage import install_outage_handler


class FieldErrorOut(BaseModel):
    field: str = Field(description="Where: `results[3].value`, `job (query parameter)`, `body`")
    message: str


# The docstring is the schema's description in the OpenAPI documents clients already read.
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
    413: "The request body is larger than 16 MiB",
    415: "The body is compressed (Content-Encoding): send it as is",
    422: "A field is malformed or holds what cannot be stored; `errors` says which",
    429: "Too many requests; see Retry-After",
    503: "The admin token cannot be read now",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, each with the body actually sent."""
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


class LocatedHTTPError(HTTPException):
    """An HTTP error whose body locates each problem: `problems` as (field, message)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        problems: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, headers)
        self.problems = list(problems)


def _body(message: str, problems: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "detail": message,
        "errors": [{"field": where, "message": text} for where, text in problems],
    }


async def _located_http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, LocatedHTTPError):  # registered for this class only
        raise error
    if error.status_code == _INVALID and reads_a_page(request):  # a query parameter refused
        return error_page(_INVALID, "Bad request", str(error.detail), _FIX_THE_ADDRESS)
    return JSONResponse(
        _body(str(error.detail), error.problems), error.status_code, headers=error.headers
    )


async def _http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, StarletteHTTPException):  # registered for this class only
        raise error
    if error.status_code in (204, 304):  # no body allowed
        return Response(status_code=error.status_code, headers=error.headers)
    if isinstance(error, BodyEncodedError):  # http/body_limit.py, as the body is read
        problem = ("body", str(error.detail))
        return JSONResponse(_body(describe([problem]), [problem]), error.status_code)
    if error.detail == _UNPARSABLE:
        problem = ("body", unparsable_body(error.__cause__))
        return JSONResponse(_body(describe([problem]), [problem]), 400, headers=error.headers)
    return JSONResponse(
        {"detail": error.detail, "errors": []}, error.status_code, headers=error.headers
    )


#: FastAPI's whole answer to a body it could not read as JSON at all; what it caught is
#: the exception's cause.
_UNPARSABLE = "There was an error parsing the body"


def unparsable_body(cause: BaseException | None) -> str:
    """Why a body could not be parsed, in the terms of the fix."""
    if isinstance(cause, UnicodeDecodeError):
        return f"not valid UTF-8 at byte {cause.start}: send JSON encoded as UTF-8"
    if isinstance(cause, RecursionError):
        return "nested too deeply to parse: flatten the JSON"
    return f"could not be parsed as JSON ({type(cause).__name__}: {cause})"


async def _validation_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, RequestValidationError):  # registered for this class only
        raise error
    problems = validation_problems(error.errors())
    if reads_a_page(request):  # its query string, edited by hand
        return error_page(_INVALID, "Bad request", describe(problems), _FIX_THE_ADDRESS)
    return JSONResponse(_body(describe(problems), problems), 422)


#: What a page says of a refused query: its status stays the JSON twin's.
_INVALID = 422
_FIX_THE_ADDRESS = "Fix the address, or follow the page's own links."


def install_error_handlers(app: FastAPI) -> None:
    install_outage_handler(app)
    app.add_exception_handler(LocatedHTTPError, _located_http_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    document_body_refusals(app)


#: What any request with a body may be answered before its route sees it: a body that
#: is not JSON (400), too large (413, http/body_limit.py), or compressed (415).
BODY_REFUSALS = (400, 413, 415)


def document_body_refusals(app: FastAPI) -> None:
    """Add BODY_REFUSALS to the OpenAPI answers of every operation that takes a body:
    they come from the app's middleware and handlers, which no route declares."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "ErrorOut" not in schemas:
            error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(error.pop("$defs", {}))
            schemas["ErrorOut"] = error
        answer = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for methods in document.get("paths", {}).values():
            for operation in methods.values():
                if "requestBody" not in operation:
                    continue
                responses = operation.setdefault("responses", {})
                for code in BODY_REFUSALS:
                    responses.setdefault(
                        str(code), {"description": ERROR_DESCRIPTIONS[code], "content": answer}
                    )
        return document

    app.openapi = openapi  # type: ignore[method-assign]
