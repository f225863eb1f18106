"""Imports point down: nothing imports the CLI; drivers do not import the CLI or web."""

from __future__ import annotations

import ast
from pathlib import Path

import crosscheck

PACKAGE = Path(crosscheck.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_cli_imports_the_cli() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "cli" not in path.relative_to(PACKAGE).parts
        and path.name != "__main__.py"
        and any(name.startswith("crosscheck.cli") for name in imported_modules(path))
    ]
    assert offenders == []


def test_drivers_import_neither_cli_nor_web() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "drivers").rglob("*.py")
        if any(
            name.startswith(("crosscheck.cli", "crosscheck.web")) for name in imported_modules(path)
        )
    ]
    assert offenders == []


def test_the_model_imports_no_framework_and_does_no_io() -> None:
    allowed = (
        "crosscheck.model",
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
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in imported_modules(path) if not n.startswith(allowed)
        )
        for path in (PACKAGE / "model").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_cli_and_the_results_app_import_the_pages() -> None:
    allowed = {"results/app.py", "results/settings.py"}
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in ("cli", "web")
        and str(path.relative_to(PACKAGE)) not in allowed
        and any(name.startswith("crosscheck.web") for name in imported_modules(path))
    ]
    assert offenders == []


def test_only_the_cli_imports_the_demo() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in ("cli", "demo")
        and any(name.startswith("crosscheck.sandbox.demo") for name in imported_modules(path))
    ]
    assert offenders == []


def test_the_daemon_helpers_import_no_layer_so_every_layer_may_use_them() -> None:
    imported = imported_modules(PACKAGE / "daemons.py")
    assert sorted(name for name in imported if name.startswith("crosscheck")) == []
