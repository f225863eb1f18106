"""crosscheck's modules byte-compiled before a bench times its commands, as an install
leaves them.

`pip install` byte-compiles every module it installs, so a peer installed from PyPI
into a bench's virtualenv starts from `.pyc` files. crosscheck in this checkout is an
editable install, which compiles nothing: its `__pycache__` is written on first
import, unless PYTHONDONTWRITEBYTECODE is set (as it is on some CI machines), in
which case every command compiles crosscheck's few hundred modules again, some 60 ms
of a 0.3 s `config check`. A bench comparing start-up times compiles them first, into
the checkout's `__pycache__` directories (ignored by git), so both sides start alike.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

import crosscheck


def byte_compiled() -> str:
    """Compile crosscheck's modules where the interpreter looks for them, and say so."""
    root = Path(crosscheck.__file__).parent
    modules = sum(1 for _ in root.rglob("*.py"))
    if not os.access(root, os.W_OK):
        return f"crosscheck's {modules} modules NOT byte-compiled: {root} is read-only"
    # quiet=1: a module that fails to compile is named, as a failed import would be.
    if not compileall.compile_dir(root, quiet=1, workers=0):
        return f"crosscheck's {modules} modules byte-compiled, some with errors (above)"
    return f"crosscheck's {modules} modules byte-compiled first, as pip install does"
