"""bench/bytecode.py: crosscheck's modules compiled as an install leaves them."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.bytecode import byte_compiled


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "crosscheck"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("VALUE = 1\n")
    (root / "sub" / "module.py").write_text("def f() -> int:\n    return 2\n")
    monkeypatch.setattr("bench.bytecode.crosscheck.__file__", str(root / "__init__.py"))
    return root


def test_every_module_gets_its_bytecode(package: Path) -> None:
    said = byte_compiled()

    assert said == "crosscheck's 2 modules byte-compiled first, as pip install does"
    assert len(list(package.rglob("__pycache__/*.pyc"))) == 2


def test_a_module_that_does_not_compile_is_said(package: Path) -> None:
    (package / "broken.py").write_text("def (:\n")

    assert "some with errors" in byte_compiled()


def test_a_read_only_checkout_is_said(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bench.bytecode.os.access", lambda path, mode: False)

    assert "NOT byte-compiled" in byte_compiled()
    assert not list(package.rglob("*.pyc"))
