"""The house as drawn in ARCHITECTURE.md: packages in layers, imports pointing down.

A package may import its own modules and any package of a LOWER layer; never one of
its own layer (siblings stay independent, so no cycle can form) and never one above.
Every package and top-level module must have a place in `LAYERS`, so a new one is a
decision, not an accident. The rules are checked on the real import graph and, so
that the check itself cannot rot, on the arrows that were once there and were taken
out (`REMOVED_ARROWS`): each must still be refused.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import crosscheck

PACKAGE = Path(crosscheck.__file__).parent

#: Top to bottom. Why each layer is where it is: ARCHITECTURE.md, "Layers".
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__main__"}),
    frozenset({"cli"}),
    frozenset({"sandbox"}),
    frozenset({"serve"}),
    frozenset({"promotion", "console", "nodes"}),
    frozenset({"operator", "web", "checks"}),
    frozenset({"scheduler", "results", "logs"}),
    frozenset({"executor", "reports", "events"}),
    frozenset({"config"}),
    frozenset({"drivers"}),
    frozenset({"http", "specs"}),
    frozenset({"store"}),
    frozenset({"model"}),
    frozenset({"errors", "paths", "metrics"}),
    frozenset({"__init__"}),
)

#: Arrows the house issue removed; each must stay refused.
REMOVED_ARROWS = (
    ("web", "store"),  # the pages read through the results service
    ("results", "web"),  # serve mounts the pages, the results app does not
    ("http", "results"),  # the HTTP error helpers sit below both
    ("drivers", "results"),  # the results reporter used the service's error helpers
    ("drivers", "events"),  # sources feed drivers.base.EventSink, not the concrete intake
    ("drivers", "config"),  # the Gerrit specs live in drivers/gerrit, below config
    ("store", "scheduler"),  # the event codec is the store's
    ("scheduler", "serve"),
    ("executor", "sandbox"),
)

#: Downward arrows refused all the same: a layer that must go through the one between.
BYPASSES = frozenset(
    {
        ("web", "store"),  # the pages read only through the results service
    }
)


def layer_of(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise AssertionError(
        f"package '{package}' has no layer: add it to LAYERS in tests/unit/test_layers.py "
        "and say why in ARCHITECTURE.md"
    )


def arrow_refused(source: str, target: str) -> bool:
    """Whether `source` importing `target` breaks the layering."""
    if source == target:
        return False
    return layer_of(target) <= layer_of(source) or (source, target) in BYPASSES


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative imports hide arrows; import by full name"
            assert node.module is not None
            names.add(node.module)
            # `from crosscheck.drivers import gerrit` imports crosscheck.drivers.gerrit.
            names.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if is_module(f"{node.module}.{alias.name}")
            )
    return names


def is_module(dotted: str) -> bool:
    """Whether `dotted` (crosscheck.x.y) names a package or module of crosscheck."""
    parts = dotted.split(".")
    if parts[0] != "crosscheck":
        return False
    where = PACKAGE.joinpath(*parts[1:])
    return where.is_dir() or where.with_suffix(".py").is_file()


def package_of_path(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def modules() -> Iterator[Path]:
    yield from sorted(PACKAGE.rglob("*.py"))


def arrows() -> Iterator[tuple[str, str, str]]:
    """(source package, target package, source file) for every crosscheck import."""
    for path in modules():
        source = package_of_path(path)
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "crosscheck" and len(parts) > 1:
                yield source, parts[1], str(path.relative_to(PACKAGE))


def test_every_package_has_a_layer() -> None:
    for path in modules():
        layer_of(package_of_path(path))


def test_no_import_points_up_or_sideways() -> None:
    offenders = sorted(
        f"{where}: {source} -> {target}"
        for source, target, where in arrows()
        if arrow_refused(source, target)
    )
    assert offenders == []


@pytest.mark.parametrize(("source", "target"), REMOVED_ARROWS)
def test_a_removed_arrow_would_be_refused(source: str, target: str) -> None:
    assert arrow_refused(source, target)


def test_the_layers_leave_no_cycle_possible() -> None:
    """Strictly downward arrows cannot close a loop; checked on the real graph too."""
    graph: dict[str, set[str]] = {}
    for source, target, _ in arrows():
        if source != target:
            graph.setdefault(source, set()).add(target)
    assert find_cycle(graph) is None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"results": {"web"}, "web": {"results"}}) == ["results", "web", "results"]


def importers_of(prefixes: tuple[str, ...], within: Iterable[Path]) -> list[str]:
    return sorted(
        str(path.relative_to(PACKAGE))
        for path in within
        if any(name.startswith(prefixes) for name in imported_modules(path))
    )


def test_the_engine_sees_drivers_only_through_their_interface() -> None:
    """A second driver (plain git, another Gerrit) touches nothing of the engine."""
    engine = [p for p in modules() if package_of_path(p) in ("scheduler", "executor", "operator")]
    driver_modules = tuple(
        f"crosscheck.drivers.{p.name}"
        for p in (PACKAGE / "drivers").iterdir()
        if p.is_dir() and not p.name.startswith("_")
    )
    assert importers_of(driver_modules, engine) == []


TABLES = "crosscheck.store.tables"


def tables_touched(path: Path, tables: set[str]) -> set[str]:
    """Which of `tables` the module imports; the whole tables module counts as all."""
    touched: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == TABLES:
            touched |= {a.name for a in node.names} & tables
        elif isinstance(node, ast.ImportFrom) and node.module == "crosscheck.store":
            if any(a.name == "tables" for a in node.names):
                touched |= tables
        elif isinstance(node, ast.Import) and any(a.name == TABLES for a in node.names):
            touched |= tables
    return touched


def outside_the_door(tables: set[str], door: Path | None) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)}: {sorted(touched)}"
        for path in modules()
        if path != door
        and (door is not None or package_of_path(path) != "store")
        and (touched := tables_touched(path, tables))
    ]


def test_only_the_store_touches_the_engines_tables() -> None:
    """Items and builds have one door: store/work.py."""
    assert outside_the_door({"items", "builds"}, door=None) == []


def test_the_top_level_holds_only_leaves() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__", "errors", "metrics", "paths"]


def test_the_model_imports_no_framework_and_does_no_io() -> None:
    allowed = (
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "enum",
        "fnmatch",
        "functools",
        "hashlib",
        "pathlib",  # a type for paths; the model does no I/O with it
        "re",
        "typing",
    )
    pure = ("urllib.parse",)  # parsing only: urllib's other modules do I/O
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n
            for n in imported_modules(path)
            if not n.startswith("crosscheck.model")
            and n.split(".")[0] not in allowed
            and n not in pure
        )
        for path in (PACKAGE / "model").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_process_helpers_import_no_layer_so_the_sandbox_and_demo_share_them() -> None:
    imported = imported_modules(PACKAGE / "sandbox" / "daemons.py")
    assert sorted(name for name in imported if name.startswith("crosscheck")) == []


def test_only_the_promotion_store_touches_the_promotion_tables() -> None:
    """Candidates, levels' pointers and promotions have one door: store/promotion.py."""
    tables = {"candidates", "level_pointers", "promotions"}
    assert outside_the_door(tables, door=PACKAGE / "store" / "promotion.py") == []


def test_only_the_evidence_store_touches_the_evidence_tables() -> None:
    """Results on candidates and approvals have one door: store/evidence.py."""
    tables = {"candidate_results", "candidate_approvals"}
    assert outside_the_door(tables, door=PACKAGE / "store" / "evidence.py") == []


def test_only_the_releases_store_touches_the_releases_table() -> None:
    assert outside_the_door({"releases"}, door=PACKAGE / "store" / "releases.py") == []


def test_only_the_publications_store_touches_the_publications_table() -> None:
    assert outside_the_door({"publications"}, door=PACKAGE / "store" / "publications.py") == []
