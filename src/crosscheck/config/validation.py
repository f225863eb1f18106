"""Pydantic validation errors turned into issues at the right file, line and column."""

from __future__ import annotations

import types
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from crosscheck.config.issues import IssueList, Position, did_you_mean
from crosscheck.config.yaml_source import Node, NodeList

Loc = tuple[int | str, ...]


M = TypeVar("M", bound=BaseModel)


def validate(
    spec: type[M], data: Any, issues: IssueList, what: str, position: Position
) -> M | None:
    """Validate `data` as `spec`; on failure record every error and return None."""
    if not isinstance(data, dict):
        issues.error(f"{what} must be a mapping of keys to values", position)
        return None
    try:
        # A plain dict: pydantic reads it faster than a Node; positions are read from `data`.
        return spec.model_validate(dict(data))
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            report_error(detail, spec, data, issues, what=what, fallback=position)
        return None


def report_error(
    detail: ErrorDetails,
    spec: type[BaseModel],
    data: Any,
    issues: IssueList,
    *,
    what: str,
    fallback: Position,
) -> None:
    loc = tuple(detail["loc"])
    where = ".".join(str(part) for part in loc)
    kind = detail["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = fields_at(spec, loc[:-1])
        hint = did_you_mean(key, valid) or (
            "valid keys: " + ", ".join(sorted(valid)) if valid else None
        )
        issues.error(f"unknown key '{key}' in {what}", key_position(data, loc, fallback), hint)
    elif kind == "missing":
        issues.error(
            f"missing required key '{loc[-1]}' in {what}", value_position(data, loc[:-1], fallback)
        )
    else:
        message = detail["msg"].removeprefix("Value error, ")
        subject = f"'{where}' " if where else ""
        issues.error(
            f"{subject}in {what}: {message}",
            value_position(data, loc, fallback),
            FIXES.get(kind),
        )


#: How to fix pydantic's plain type errors, which say only what was expected.
FIXES = {
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "string_type": "write a text (quote it if YAML reads it as a number or a mapping)",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "greater_than": "give a larger value",
    "list_type": "write a list, e.g. [a, b]",
}


def value_position(data: Any, loc: Loc, fallback: Position) -> Position:
    """Where the value at `loc` starts, or its deepest existing ancestor."""
    position = getattr(data, "start", fallback)
    current = data
    for part in loc:
        found = (isinstance(current, Node) and part in current) or (
            isinstance(current, NodeList) and isinstance(part, int) and part < len(current)
        )
        if not found:
            break
        position, current = current.position_of(part), current[part]
    return position


def key_position(data: Any, loc: Loc, fallback: Position) -> Position:
    parent_loc, key = loc[:-1], loc[-1]
    parent: Any = data
    for part in parent_loc:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return value_position(data, parent_loc, fallback)
    if isinstance(parent, Node) and key in parent.key_at:
        return parent.key_at[key]
    return value_position(data, parent_loc, fallback)


def fields_at(spec: type[BaseModel], loc: Loc) -> set[str]:
    """The keys the schema accepts at `loc`, for 'did you mean' hints."""
    model: type[BaseModel] | None = spec
    skip = 0
    for part in loc:
        if skip:
            skip -= 1
            continue
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return set()
        model, skip = _model_inside(field.annotation)
    if model is None:
        return set()
    # A key written under an alias (`from`, a Python keyword) is offered as written.
    return {info.alias or name for name, info in model.model_fields.items() if not info.exclude}


def _model_inside(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """The model an annotation holds, and how many loc parts (indexes, keys) lead to it."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _model_inside(args[0])
    if origin in (list, tuple, dict) and args:
        model, skip = _model_inside(args[-1])
        return model, skip + 1
    if origin in (Union, types.UnionType):
        for arg in args:
            model, skip = _model_inside(arg)
            if model is not None:
                return model, skip
    return None, 0
