"""libyaml's loader, which crosscheck uses, gives what the pure-Python one gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crosscheck.config.issues import IssueList
from crosscheck.config.yaml_source import LOADER, PURE_LOADER, Node, NodeList, load_yaml

EXAMPLES = Path(__file__).parents[3] / "examples"
TRICKY = {
    "merge.yaml": "- base: &b {node: lab, env: {A: '1'}}\n- job: {<<: *b, name: j, node: other}\n",
    "scalars.yaml": "- env: {PY: 3.10, MODE: 0755, ON: yes, NONE: ~, T: 2024-01-01, S: 'x'}\n",
    "blocks.yaml": (
        "- job:\n    run: |\n      make\n      make test\n    files: [a, 'b: c', \"d\\te\"]\n"
    ),
    "duplicate.yaml": "- job: {name: a, name: b}\n",
    "flow.yaml": "[{job: {name: a, run: [x, {script: y}]}}]\n",
}


def positions(value: Any) -> Any:
    """The value with every position it keeps, to compare two loads whole."""
    if isinstance(value, Node):
        return (
            "node",
            value.start,
            [(k, value.key_at[k], value.value_at[k], positions(v)) for k, v in value.items()],
            list(value.text_at.items()),
        )
    if isinstance(value, NodeList):
        return ("list", value.start, value.item_at, [positions(v) for v in value])
    return (type(value).__name__, value)


def files() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.yaml"))


def load_both(text: str, path: Path) -> tuple[Any, Any]:
    loads = []
    for loader in (LOADER, PURE_LOADER):
        issues = IssueList()
        document = load_yaml(text, path, issues, loader)
        loads.append((positions(document), [str(issue) for issue in issues.items]))
    return loads[0], loads[1]


def test_crosscheck_reads_with_libyaml() -> None:
    assert LOADER.__mro__[1].__name__ == "CSafeLoader"


@pytest.mark.parametrize("path", files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_loads_the_same_with_both(path: Path) -> None:
    fast, pure = load_both(path.read_text(), path)
    assert fast == pure
    assert fast[0][0] == "list"


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_merge_keys_scalars_blocks_and_duplicates_load_the_same(name: str) -> None:
    fast, pure = load_both(TRICKY[name], Path(name))
    assert fast == pure


def test_a_duplicate_key_is_reported_by_both() -> None:
    fast, pure = load_both(TRICKY["duplicate.yaml"], Path("d.yaml"))
    assert (
        fast[1]
        == pure[1]
        == [
            "d.yaml:1:18: error: duplicate key 'name' (first at line 1) — YAML keeps only one "
            "of them: remove or rename the other"
        ]
    )
