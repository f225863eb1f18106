"""The default comment trigger: OpenStack's recheck rule, plus `run <this CI>`."""

from __future__ import annotations

import re

import pytest

from crosscheck.model.pipeline import recheck_pattern, run_pattern

PATTERN = re.compile(recheck_pattern("acme-storage"))


@pytest.mark.parametrize(
    "comment",
    [
        "recheck",
        "Recheck",
        "Patch Set 3:\n\nrecheck",
        "Patch Set 3: Code-Review+1\n\nrecheck please",
        "Patch Set 1: -Verified\n\nrecheck",
        "run acme-storage",
        "Patch Set 2:\n\nrun acme-storage",
        "run-acme-storage",
    ],
)
def test_rechecks_that_trigger(comment: str) -> None:
    assert PATTERN.search(comment)


@pytest.mark.parametrize(
    "comment",
    [
        "Please do not recheck yet",
        "rechecking is pointless",
        "run other-ci",
        "run acme-storagex",
        "run acme-storage-arm",  # another CI whose name starts with this one's
        "Patch Set 3: Verified+1\n\nBuild succeeded.",
    ],
)
def test_comments_that_do_not(comment: str) -> None:
    assert not PATTERN.search(comment)


def test_the_ci_name_is_escaped() -> None:
    assert re.compile(recheck_pattern("a.b")).search("run a.b")
    assert not re.compile(recheck_pattern("a.b")).search("run axb")


def test_run_a_name_does_not_run_a_longer_name() -> None:
    assert not re.compile(run_pattern("trial")).search("run trial-arm")
    assert re.compile(run_pattern("trial")).search("run trial, please")
    assert re.compile(run_pattern("trial")).search("run trial\n\nthanks")
