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
from collections.abc import Callable, Iterable, Iterator, Mapping
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


def resolve_parameters(
    params: Mapping[str, Any], dynamic: Iterable[str] | None = None
) -> dict[str, Any]:
    """Substitute parameters into other parameters' values until nothing changes.

    `dynamic`, when given, names every parameter whose value has placeholders (the
    others never change), so a matrix of thousands need not look at each value each time.
    """
    resolved = dict(params)
    wanted = set(resolved if dynamic is None else dynamic)
    pending = [name for name in resolved if name in wanted]
    for _ in range(MAX_PARAMETER_DEPTH):
        changed = False
        for name in pending:
            value = resolved[name]
            if placeholders(value):
                rendered = render(value, resolved)
                changed = changed or rendered != value
                resolved[name] = rendered
        if not changed:
            return resolved
    raise ParameterCycleError(sorted(n for n, v in resolved.items() if placeholders(v)))


#: A template made once into a function of the parameters (see `compile_template`).
Renderer = Callable[[Mapping[str, Any]], Any]


def render(value: Any, params: Mapping[str, Any]) -> Any:
    """Substitute parameters into `value`, keeping YAML positions on the copies."""
    return compile_template(value)(params)


def compile_template(value: Any, position: Position | None = None) -> Renderer:
    """`render` for one value, prepared once and run for each binding of its parameters.

    Parts without placeholders are not copied but shared by every result, so thousands
    of jobs from one template cost only what differs between them. A missing parameter
    is raised with the position of the value that uses it (`position` for `value`
    itself, when its container has one).
    """
    if isinstance(value, str):
        return _compile_text(value, position)
    if isinstance(value, Node):
        return _compile_node(value)
    if isinstance(value, NodeList):
        return _compile_list(value)
    if isinstance(value, dict):
        pairs = [
            (compile_template(key, position), compile_template(item, position))
            for key, item in value.items()
        ]
        return lambda params: {key(params): item(params) for key, item in pairs}
    if isinstance(value, list):
        items = [compile_template(item, position) for item in value]
        return lambda params: [item(params) for item in items]
    return _constant(value)


def _constant(value: Any, *, as_written: bool = True) -> Renderer:
    """The same value for any parameters; `as_written` when it is the template's own
    value (a text with `{{` is not: its copies read `{`)."""

    def constant(params: Mapping[str, Any]) -> Any:
        return value

    constant.as_written = as_written  # type: ignore[attr-defined]
    return constant


def _is_static(renderer: Renderer) -> bool:
    """Whether the renderer always gives back the template's own value."""
    return getattr(renderer, "as_written", False)


def _compile_node(node: Node) -> Renderer:
    pairs = [
        (
            key,
            compile_template(key, node.key_at.get(key, node.start)),
            compile_template(item, node.position_of(key)),
        )
        for key, item in node.items()
    ]
    if all(_is_static(k) and _is_static(v) for _, k, v in pairs):
        return _constant(node)
    if all(_is_static(k) for _, k, _ in pairs):
        # Keys as written: their positions are the template's, shared by every copy.
        keys = [key for key, _, _ in pairs]
        items = [item for _, _, item in pairs]

        def same_keys(params: Mapping[str, Any]) -> Node:
            copy = Node(zip(keys, [item(params) for item in items], strict=True))
            copy.start, copy.key_at, copy.value_at = node.start, node.key_at, node.value_at
            copy.text_at = node.text_at
            return copy

        return same_keys

    def new_keys(params: Mapping[str, Any]) -> Node:
        copy = Node()
        copy.start = node.start
        copy.key_at, copy.value_at, copy.text_at = {}, {}, {}
        for key, new_key, item in pairs:
            rendered_key = new_key(params)
            copy[rendered_key] = item(params)
            copy.key_at[rendered_key] = node.key_at.get(key, node.start)
            copy.value_at[rendered_key] = node.position_of(key)
            if key in node.text_at:
                copy.text_at[rendered_key] = node.text_at[key]
        return copy

    return new_keys


def _compile_list(items: NodeList) -> Renderer:
    compiled = [compile_template(item, items.position_of(i)) for i, item in enumerate(items)]
    if all(_is_static(item) for item in compiled):
        return _constant(items)

    def copy_list(params: Mapping[str, Any]) -> NodeList:
        copy = NodeList([item(params) for item in compiled])
        copy.start, copy.item_at = items.start, items.item_at
        return copy

    return copy_list


def _compile_text(text: str, position: Position | None) -> Renderer:
    whole = PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1):
        name = whole.group(1)

        def value_of(params: Mapping[str, Any]) -> Any:
            value = _lookup(name, params, position)
            return "" if value is None else value

        return value_of
    # Literal pieces and parameter names, alternating: 'a-{x}-b' is 'a-', x, '-b'.
    pieces: list[str] = []
    names: list[str] = []
    literal, end = [], 0
    for match in PLACEHOLDER.finditer(text):
        literal.append(text[end : match.start()])
        end = match.end()
        if match.group(1):
            pieces.append("".join(literal))
            names.append(match.group(1))
            literal = []
        else:  # `{{` or `}}`
            literal.append(match.group(0)[0])
    literal.append(text[end:])
    pieces.append("".join(literal))
    if not names:
        return _constant(pieces[0], as_written=pieces[0] == text)
    first, parts = pieces[0], list(zip(names, pieces[1:], strict=True))

    def substituted(params: Mapping[str, Any]) -> str:
        out = first
        for name, piece in parts:
            try:
                value = params[name]
            except KeyError:
                raise MissingParameterError(name, position) from None
            out += ("" if value is None else str(value)) + piece
        return out

    return substituted


def _lookup(name: str, params: Mapping[str, Any], position: Position | None) -> Any:
    try:
        return params[name]
    except KeyError:
        raise MissingParameterError(name, position) from None


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
    # Which values hold placeholders is known once, not looked for in each combination.
    fixed = {name for name, value in params.items() if name not in matrix and placeholders(value)}
    holding = [
        (index, name, held)
        for index, (name, listed) in enumerate(zip(matrix, values, strict=True))
        if (held := {value for value in listed if placeholders(value)})
    ]
    for combo in itertools.product(*values):
        bound = dict(params)
        bound.update(zip(matrix, combo, strict=True))
        dynamic = fixed
        if holding:
            dynamic = fixed.union(name for index, name, held in holding if combo[index] in held)
        yield resolve_parameters(bound, dynamic) if dynamic else bound


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
