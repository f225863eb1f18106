"""YAML that remembers where every key and value came from.

Mappings load as `Node` (a dict) and sequences as `NodeList` (a list); both keep
the position of the node itself and of each of their children, so any later
check can point at the exact line and column. libyaml does the parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, cast

import yaml

from crosscheck.config.issues import IssueList, Position


class Node(dict[Any, Any]):
    """A YAML mapping with positions: `start`, `key_at[key]`, `value_at[key]`.

    `text_at[key]` keeps a non-string scalar as it was written, because YAML 1.1
    turns `3.10` into 3.1 and `0755` into 493 where a string was meant (env values).
    """

    # Slots: thousands of jobs from templates are thousands of these.
    __slots__ = ("key_at", "start", "text_at", "value_at")
    start: Position
    key_at: dict[Any, Position]
    value_at: dict[Any, Position]
    text_at: dict[Any, str]

    def position_of(self, key: Any) -> Position:
        return self.value_at.get(key, self.start)


class NodeList(list[Any]):
    """A YAML sequence with positions: `start`, `item_at[index]`."""

    __slots__ = ("item_at", "start")
    start: Position
    item_at: list[Position]

    def position_of(self, index: int) -> Position:
        return self.item_at[index] if 0 <= index < len(self.item_at) else self.start


def _position(path: Path, mark: Any) -> Position:
    return Position(path, mark.line + 1, mark.column + 1)


class _PositionsLoader(Protocol):
    """What the constructors below use of a loader (libyaml's or the pure-Python one)."""

    path: Path
    issues: IssueList

    def flatten_mapping(self, node: yaml.MappingNode) -> None: ...
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any: ...


MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _PositionsLoader, node: yaml.MappingNode) -> Node:
    own = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
    loader.flatten_mapping(node)  # YAML merge keys (<<) come first, then the node's own
    merged = len(node.value) - own
    result = Node()
    result.start = _position(loader.path, node.start_mark)
    result.key_at, result.value_at, result.text_at = {}, {}, {}
    own_keys: set[Any] = set()  # merged keys may be overridden; own keys only once
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            loader.issues.error(
                "a mapping key must be a plain value", _position(loader.path, key_node.start_mark)
            )
            continue
        if index >= merged and key in own_keys:
            loader.issues.error(
                f"duplicate key '{key}' (first at line {result.key_at[key].line})",
                _position(loader.path, key_node.start_mark),
                "YAML keeps only one of them: remove or rename the other",
            )
        if index >= merged:
            own_keys.add(key)
        result[key] = value = loader.construct_object(value_node, deep=True)
        result.key_at[key] = _position(loader.path, key_node.start_mark)
        result.value_at[key] = _position(loader.path, value_node.start_mark)
        if isinstance(value_node, yaml.ScalarNode) and not isinstance(value, str):
            result.text_at[key] = value_node.value
    return result


def _construct_sequence(loader: _PositionsLoader, node: yaml.SequenceNode) -> NodeList:
    result = NodeList(loader.construct_object(child, deep=True) for child in node.value)
    result.start = _position(loader.path, node.start_mark)
    result.item_at = [_position(loader.path, child.start_mark) for child in node.value]
    return result


def loader_class(base: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """`base` (a safe loader) made to build `Node`s and `NodeList`s."""
    loader: Any = type(f"Positions{base.__name__}", (base,), {})
    # Any: PyYAML's stubs take only its own loader classes as the constructors' argument.
    loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    return cast("type[yaml.SafeLoader]", loader)


#: The pure-Python loader; the same results as LOADER, which is much faster.
PURE_LOADER = loader_class(yaml.SafeLoader)
#: libyaml's parser, in PyYAML's wheels; the pure-Python one where it is missing.
LOADER = loader_class(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _syntax_hint(problem: str, found: str = "") -> str | None:
    """`found`: the character where YAML stopped (its message does not always name it)."""
    if "\\t" in problem or "tab" in problem or found == "\t":
        return "indent with spaces; YAML does not allow tabs"
    if "alias" in problem or "anchor" in problem:
        return 'a value starting with * or & must be quoted, e.g. time: "* * * * *"'
    return None


def load_yaml(
    text: str, path: Path, issues: IssueList, loader_type: type[yaml.SafeLoader] = LOADER
) -> Any:
    """Parse one YAML document; syntax errors become issues and the result None."""
    loader: Any = loader_type(text)
    loader.path, loader.issues = path, issues
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = _position(path, mark) if mark else Position(path, 1, 1)
        problem = error.problem or "invalid YAML"
        context = ""
        if error.context:
            where = error.context_mark
            at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
            context = f" ({error.context}{at})"
        found = text[mark.index] if mark and 0 <= mark.index < len(text) else ""
        issues.error(f"YAML syntax: {problem}{context}", position, _syntax_hint(problem, found))
    except RecursionError:
        issues.error(
            "the YAML is nested too deeply to read",
            Position(path, 1, 1),
            "a configuration needs only a few levels of nesting",
        )
    except yaml.YAMLError as error:
        issues.error(f"YAML: {error}", Position(path, 1, 1))
    finally:
        loader.dispose()
    return None
