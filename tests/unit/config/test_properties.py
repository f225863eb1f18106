"""Property: template expansion is deterministic and exactly the product of its lists."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import load

values = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(a=values, b=values, c=values)
def test_expansion_is_deterministic_and_complete(a: list[str], b: list[str], c: list[str]) -> None:
    text = f"""
- job-template:
    name: "{{a}}-{{b}}-{{c}}"
    node: lab
    run: ["run {{a}} {{b}} {{c}}"]
- project:
    name: p
    parameters: {{a: {a}, b: {b}, c: {c}}}
    check: {{jobs: ["{{a}}-{{b}}-{{c}}"]}}
"""
    runs = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as root:
            result = load(Path(root), text)
            assert result.config is not None, [str(e) for e in result.errors]
            runs.append([j.name for j in result.config.projects[0].pipelines["check"]])
    assert runs[0] == runs[1]
    expected = math.prod(len(dict.fromkeys(v)) for v in (a, b, c))
    assert len(runs[0]) == len(set(runs[0])) == expected
    assert runs[0][0] == f"{a[0]}-{b[0]}-{c[0]}"
