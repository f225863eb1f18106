"""Jenkins Job Builder style templates: `{parameter}` placeholders and value matrices.

A parameter whose value is a list expands the template once per value; several
list parameters expand as their cartesian product. Only parameters the template
uses take part, so an unrelated list never multiplies jobs. `{{` and `}}` are
literal braces. A value that is exactly one placeholder keeps the parameter's
type (`timeout: '{timeout}'` with `timeout: 3600` gives the number 3600). A
parameter's value may use other parameters (`branch: 'stable/{release}'`), and
placeholders work in mapping keys too (`env: {'{var}': ...}`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from crosscheck.config.issues import Position
from crosscheck.config.yaml_source import Node, NodeList

#: Parameter names as Jenkins Job Builder accepts them: letters, digits, `_` and `-`.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}")
MAX_PARAMETER_DEPTH = 10


class MissingParameterError(Exception):
    def __init__(self, name: str, position: Position | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.position = position


class ParameterCycleError(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def placeholders(value: Any) -> list[str]:
    """Parameter names used anywhere in `value` (keys included), in order of first use."""
    found: dict[str, None] = {}
    _collect(value, found)
    return list(found)


def _collect(value: Any, found: dict[str, None]) -> None:
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            if match.group(1):
                found.setdefault(match.group(1))
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(key, found)
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def resolve_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Substitute parameters into other parameters' values until nothing changes."""
    resolved = dict(params)
    for _ in range(MAX_PARAMETER_DEPTH):
        changed = False
        for name, value in resolved.items():
            if placeholders(value):
                rendered = render(value, resolved)
                changed = changed or rendered != value
                resolved[name] = rendered
        if not changed:
            return resolved
    raise ParameterCycleError(sorted(n for n, v in resolved.items() if placeholders(v)))


def render(value: Any, params: Mapping[str, Any]) -> Any:
    """Substitute parameters into `value`, keeping YAML positions on the copies."""
    if isinstance(value, str):
        return _render_text(value, params)
    if isinstance(value, Node):
        return _render_node(value, params)
    if isinstance(value, NodeList):
        items = NodeList(
            _located(render, item, params, value.position_of(i)) for i, item in enumerate(value)
        )
        items.start, items.item_at = value.start, value.item_at
        return items
    if isinstance(value, dict):
        return {render(key, params): render(item, params) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, params) for item in value]
    return value


def _render_node(node: Node, params: Mapping[str, Any]) -> Node:
    copy = Node()
    copy.start = node.start
    copy.key_at, copy.value_at, copy.text_at = {}, {}, {}
    for key, item in node.items():
        new_key = _located(render, key, params, node.key_at.get(key, node.start))
        copy[new_key] = _located(render, item, params, node.position_of(key))
        copy.key_at[new_key] = node.key_at.get(key, node.start)
        copy.value_at[new_key] = node.position_of(key)
        if key in node.text_at:
            copy.text_at[new_key] = node.text_at[key]
    return copy


def _located(function: Any, value: Any, params: Mapping[str, Any], position: Position) -> Any:
    """Run `function`, giving a missing parameter the position of the value that uses it."""
    try:
        return function(value, params)
    except MissingParameterError as missing:
        if missing.position is None:
            missing.position = position
        raise


def _render_text(text: str, params: Mapping[str, Any]) -> Any:
    whole = PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1):
        value = _lookup(whole.group(1), params)
        return "" if value is None else value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        value = _lookup(match.group(1), params)
        return "" if value is None else str(value)

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
    used = used_parameters(template, params)
    matrix = [name for name in used if isinstance(params.get(name), list)]
    values = [list(dict.fromkeys(_hashable(params[name]))) for name in matrix]
    for combo in itertools.product(*values):
        yield resolve_parameters({**params, **dict(zip(matrix, combo, strict=True))})


def used_parameters(template: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """Parameters the template uses, directly or through other parameters' values."""
    used = placeholders({key: value for key, value in template.items() if key != "parameters"})
    index = 0
    while index < len(used):
        for name in placeholders(params.get(used[index])):
            if name not in used:
                used.append(name)
        index += 1
    return used


def _hashable(values: list[Any]) -> list[Any]:
    return [
        value if isinstance(value, str | int | float | bool) else str(value) for value in values
    ]
