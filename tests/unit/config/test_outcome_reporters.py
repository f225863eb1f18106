"""The `merge_conflict` and `error` reporter moments of a pipeline, and their defaults."""

from __future__ import annotations

from pathlib import Path

from crosscheck.config import load_config
from crosscheck.model.pipeline import Notify, ReportAction

from .helpers import CONNECTION, errors, load, write

PIPELINE = """
- pipeline:
    name: check
    manager: independent
    trigger:
      gerrit:
        - event: patchset-created
    failure:
      gerrit: {labels: {Verified: -1}, comment: false, notify: ALL}
"""


def test_undeclared_moments_follow_failure_and_an_error_casts_no_vote(tmp_path: Path) -> None:
    result = load(tmp_path, "", base=CONNECTION + PIPELINE)
    assert result.config is not None, result.errors
    check = result.config.pipelines["check"]
    assert check.merge_conflict == check.failure
    assert check.error == (ReportAction("gerrit", {}, comment=True, notify=Notify.ALL),)


def test_declared_moments_are_taken_as_written(tmp_path: Path) -> None:
    text = (
        PIPELINE
        + """    merge_conflict:
      gerrit: {labels: {Verified: -1}}
    error: {}
"""
    )
    result = load(tmp_path, "", base=CONNECTION + text)
    assert result.config is not None, result.errors
    check = result.config.pipelines["check"]
    assert check.merge_conflict == (ReportAction("gerrit", {"Verified": -1}),)
    assert check.error == ()


def test_the_dashed_spelling_is_refused_with_the_right_one(tmp_path: Path) -> None:
    text = (
        PIPELINE
        + """    merge-conflict:
      gerrit: {labels: {Verified: -1}}
"""
    )
    result = load(tmp_path, "", base=CONNECTION + text)
    assert result.config is None
    assert errors(result) == [
        "base.yaml:16:5: error: unknown key 'merge-conflict' in pipeline 'check' — did you "
        "mean 'merge_conflict'?"
    ]


def test_an_error_reporter_on_an_unknown_connection_is_located(tmp_path: Path) -> None:
    text = (
        PIPELINE
        + """    error:
      gerit: {}
"""
    )
    write(tmp_path, {"base.yaml": CONNECTION + text})
    result = load_config([tmp_path])
    assert errors(result) == [
        "base.yaml:17:7: error: pipeline 'check' reports error to unknown connection 'gerit' "
        "— did you mean 'gerrit'?"
    ]
