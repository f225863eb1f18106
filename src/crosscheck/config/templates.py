"""Jenkins Job Builder style templates: `{parameter}` placeholders and value matrices.

A parameter whose value is a list expands the template once per value; several
list parameters expand as their cartesian product. Only parameters the template
uses take part, so an unrelated list never multiplies jobs. `{{` and `}}` are
literal braces. A value that is exactly one placeholder keeps the parameter's
type (`timeout: '{timeout}'` with `timeout: 3600` gives the number 3600).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from crosscheck.config.yaml_source import Node, NodeList

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingParameterError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def placeholders(value: Any) -> list[str]:
    """Parameter names used anywhere in `value`, in order of first use."""
    found: dict[str, None] = {}
    _collect(value, found)
    return list(found)


def _collect(value: Any, found: dict[str, None]) -> None:
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            if match.group(1):
                found.setdefault(match.group(1))
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def render(value: Any, params: Mapping[str, Any]) -> Any:
    """Substitute parameters into `value`, keeping YAML positions on the copies."""
    if isinstance(value, str):
        return _render_text(value, params)
    if isinstance(value, Node):
        copy = Node((key, render(item, params)) for key, item in value.items())
        copy.start, copy.key_at, copy.value_at = value.start, value.key_at, value.value_at
        return copy
    if isinstance(value, NodeList):
        items = NodeList(render(item, params) for item in value)
        items.start, items.item_at = value.start, value.item_at
        return items
    if isinstance(value, dict):
        return {key: render(item, params) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, params) for item in value]
    return value


def _render_text(text: str, params: Mapping[str, Any]) -> Any:
    whole = PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1):
        return _lookup(whole.group(1), params)

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        return str(_lookup(match.group(1), params))

    return PLACEHOLDER.sub(substitute, text)


def _lookup(name: str, params: Mapping[str, Any]) -> Any:
    if name not in params:
        raise MissingParameterError(name)
    return params[name]


def combinations(
    template: Mapping[str, Any], params: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Every binding of the template's list parameters, in a stable order.

    The order follows the parameters' first use in the template, then each list's
    own order, so the same input always yields the same jobs in the same order.
    """
    used = placeholders({key: value for key, value in template.items() if key != "parameters"})
    matrix = [name for name in used if isinstance(params.get(name), list)]
    values = [list(dict.fromkeys(_hashable(params[name]))) for name in matrix]
    for combo in itertools.product(*values):
        yield {**params, **dict(zip(matrix, combo, strict=True))}


def _hashable(values: list[Any]) -> list[Any]:
    return [
        value if isinstance(value, str | int | float | bool) else str(value) for value in values
    ]
