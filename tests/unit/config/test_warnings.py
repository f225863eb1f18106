"""Valid but suspicious configurations produce warnings, listed apart from errors."""

from __future__ import annotations

from pathlib import Path

from .helpers import CONNECTION, errors, load, warnings


def test_unused_things_and_silent_pipelines_are_warned_about(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: quiet
            manager: independent
            trigger:
              gerrit: [{event: patchset-created}]
        - label: {name: spare}
        - label: {name: lab}
        - job: {name: base, abstract: true, node: lab}
        - job: {name: used, parent: base, run: [make]}
        - job: {name: orphan, node: lab, run: [make]}
        - job-template: {name: "{name}-x", node: lab, run: [x]}
        - project-template: {name: nobody}
        - project: {name: p, quiet: {jobs: [used]}}
        - project: {name: empty}
        """,
        base=CONNECTION,
    )
    assert errors(result) == []
    assert warnings(result) == [
        "test.yaml:1:3: warning: pipeline 'quiet' has no reporter: its results are recorded "
        "but never reported — add 'success:' and 'failure:' reporters",
        "test.yaml:1:3: warning: pipeline 'quiet' skips work-in-progress changes and triggers "
        "on patchset-created but not on wip-state-changed: a change marked ready for review "
        "will not be tested — add wip-state-changed: "
        "'- event: [wip-state-changed, change-restored]'",
        "test.yaml:6:3: warning: label 'spare' is not used by any job",
        "test.yaml:10:3: warning: job 'orphan' is not run by any project — add it to a "
        "project's pipeline, or remove it",
        "test.yaml:11:3: warning: job-template '{name}-x' is not used by any project",
        "test.yaml:12:3: warning: project-template 'nobody' is not used by any project",
        "test.yaml:14:3: warning: project 'empty' runs no job in any pipeline",
    ]
    assert result.config is not None  # warnings never block a configuration
