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


def test_a_pipeline_across_two_gerrits_reports_each_change_where_it_came_from(
    tmp_path: Path,
) -> None:
    other = CONNECTION.replace("name: gerrit", "name: other").replace("review.", "other.")
    result = load(
        tmp_path,
        """
        - pipeline:
            name: check
            manager: independent
            trigger:
              gerrit: [{event: [patchset-created, wip-state-changed, change-restored]}]
              other: [{event: [patchset-created, wip-state-changed, change-restored]}]
            success:
              gerrit: {labels: {Verified: 1}}
            failure:
              gerrit: {labels: {Verified: -1}}
        - pipeline:
            name: gate
            manager: independent
            trigger:
              gerrit: [{event: [patchset-created, wip-state-changed, change-restored]}]
            success:
              gerrit: {labels: {Verified: 1}}
              other: {labels: {Verified: 1}}
        - label: {name: lab}
        - job: {name: unit, node: lab, run: [make]}
        - project: {name: p, connection: gerrit, check: {jobs: [unit]}, gate: {jobs: [unit]}}
        """,
        base=CONNECTION + other,
    )
    assert errors(result) == []
    assert warnings(result) == [
        "test.yaml:1:3: warning: pipeline 'check' triggers on 'other' but reports only to "
        "'gerrit': changes from 'other' get no report (a change is reported to the Gerrit it "
        "came from) — add 'other:' under its 'success:' and 'failure:'",
        "test.yaml:11:3: warning: pipeline 'gate' reports to 'other' but never triggers on "
        "it: a change is reported only to the Gerrit it came from, so these reporters are "
        "never used — add 'other:' under its 'trigger:', or remove its reporters",
    ]


def test_one_project_name_on_two_gerrits_is_two_projects(tmp_path: Path) -> None:
    other = CONNECTION.replace("name: gerrit", "name: other").replace("review.", "other.")
    pipeline = """
        - pipeline:
            name: check
            manager: independent
            trigger:
              gerrit: [{event: [patchset-created, wip-state-changed, change-restored]}]
              other: [{event: [patchset-created, wip-state-changed, change-restored]}]
            success:
              gerrit: {labels: {Verified: 1}}
              other: {labels: {Verified: 1}}
        - label: {name: lab}
        - job: {name: unit, node: lab, run: [make]}
        - job: {name: lab, node: lab, run: [make]}
        """
    result = load(
        tmp_path,
        pipeline
        + """
        - project: {name: nova, connection: gerrit, check: {jobs: [unit]}}
        - project: {name: nova, connection: other, check: {jobs: [lab]}}
        """,
        base=CONNECTION + other,
    )
    assert errors(result) == []
    assert result.config is not None
    assert [j.name for j in result.config.jobs_for("nova", "gerrit", "check")] == ["unit"]
    assert [j.name for j in result.config.jobs_for("nova", "other", "check")] == ["lab"]
    twice = load(
        tmp_path,
        pipeline
        + """
        - project: {name: nova, connection: other, check: {jobs: [unit]}}
        - project: {name: nova, connection: other, check: {jobs: [lab]}}
        """,
        base=CONNECTION + other,
    )
    (duplicate,) = [e for e in errors(twice) if "defined twice" in e]
    assert duplicate.startswith("test.yaml:15:3: error: project 'nova@other' is defined twice")
