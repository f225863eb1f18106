"""`config show`'s YAML writer: PyYAML's layout, and every value reads back as it was."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from crosscheck.config.yaml_emit import UnsupportedError, Writer

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    # Texts YAML would read as something else, or that need quotes, more often than chance.
    st.sampled_from(["true", "No", "~", "null", "3.10", "0755", "1e3", "=", "<<", "- x", "a: b",
                     "a #b", "#a", "'q'", '"q"', " a", "a ", "", "2024-01-01", "1:20", "-x",
                     "x:", "? x", "{a}", "[a]", "*a", "&a", "!a", "|", ">", "%a", "@a", "`a"]),
)  # fmt: skip
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(items=st.lists(trees, max_size=4))
def test_what_is_written_reads_back_the_same_with_both_loaders(items: list[Any]) -> None:
    written = Writer().items(items) or "[]\n"
    assert yaml.load(written, Loader=yaml.SafeLoader) == items
    assert yaml.load(written, Loader=yaml.CSafeLoader) == items


def test_the_layout_is_pyyamls() -> None:
    items = [
        {
            "job": {
                "name": "proj00-apex-os-sc0-ha-suite0",
                "run": ["./deploy.sh apex && ./test.sh suite0", {"script": "run.sh"}],
                "env": {"PYTHON": "3.10", "EMPTY": "", "QUOTE": "it's"},
                "timeout": 10800,
                "voting": True,
                "files": [],
                "scenario": {"name": "os", "level": None},
                "required_projects": [{"name": "nova", "branch": "stable/2024.1"}],
                "nested": [["a", "b"], {}],
            }
        },
        {"project": {"name": "p", "check": {"jobs": ["a", {"b": {"voting": False}}]}}},
    ]
    expected = yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=1000)
    assert Writer().items(items) == expected


def test_line_breaks_and_unprintable_characters_are_escaped() -> None:
    text = 'set -e\n\tmake "all" \\ \x85\u2028\x7f\U0001f600 é'
    written = Writer().items([text])
    assert written == '- "set -e\\n\\tmake \\"all\\" \\\\ \\x85\\u2028\\x7F\U0001f600 é"\n'
    assert yaml.safe_load(written) == [text]


def test_other_values_are_written_as_pyyaml_writes_them() -> None:
    written = Writer().items([datetime.date(2026, 12, 6), 1e17, float("-inf")])
    assert written == "- 2026-12-06\n- 1.0e+17\n- -.inf\n"


def test_a_key_too_long_for_a_simple_key_is_left_to_pyyaml() -> None:
    with pytest.raises(UnsupportedError):
        Writer().items([{"k" * 1001: 1}])


def test_nothing_is_no_lines() -> None:
    assert Writer().items([]) == ""
