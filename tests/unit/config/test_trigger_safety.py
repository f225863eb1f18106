"""Connection and pipeline keys that keep a CI safe on a real upstream, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.config import load_config
from crosscheck.model.pipeline import GerritTrigger

from .helpers import CONNECTION, PIPELINE, errors, load, warnings

EXAMPLES = Path(__file__).parents[3] / "examples"

CI = """
- ci:
    name: Acme Storage CI
"""


def gerrit_triggers(result: object, pipeline: str = "check") -> list[GerritTrigger]:
    config = getattr(result, "config", None)
    assert config is not None
    return [t for t in config.pipelines[pipeline].triggers if isinstance(t, GerritTrigger)]


def test_the_ci_account_is_ignored_by_default_and_more_accounts_can_be(tmp_path: Path) -> None:
    base = CONNECTION.replace(
        "    user: ci\n", "    user: ci\n    ignore_accounts: [Other-CI, Bot@Example.org]\n"
    )
    result = load(tmp_path, PIPELINE, base=base)
    assert errors(result) == []
    assert result.config is not None
    connection = result.config.connections["gerrit"]
    assert connection.ignore_own_events is True
    assert connection.ignore_accounts == {"other-ci", "bot@example.org"}  # any case matches


def test_one_account_may_be_given_without_a_list_and_own_events_may_trigger(
    tmp_path: Path,
) -> None:
    base = CONNECTION.replace(
        "    user: ci\n", "    user: ci\n    ignore_own_events: false\n    ignore_accounts: zuul\n"
    )
    result = load(tmp_path, PIPELINE, base=base)
    assert result.config is not None
    connection = result.config.connections["gerrit"]
    assert (connection.ignore_own_events, connection.ignore_accounts) == (
        False,
        frozenset({"zuul"}),
    )


def test_an_account_that_is_two_names_is_an_error_saying_how_to_write_them(
    tmp_path: Path,
) -> None:
    base = CONNECTION.replace(
        "    user: ci\n", "    user: ci\n    ignore_accounts: [zuul, 'other-ci, bot@x.org']\n"
    )
    result = load(tmp_path, PIPELINE, base=base)
    assert result.config is None
    (error,) = errors(result)
    assert error.startswith("base.yaml:6:")
    assert "'other-ci, bot@x.org' is not an account" in error
    assert "ignore_accounts: [other-ci, bot@example.org]" in error


def test_current_patchset_only_is_the_default_and_can_be_turned_off(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        PIPELINE.replace("name: check", "name: old").replace(
            "    manager: independent\n",
            "    manager: independent\n    current_patchset_only: false\n",
        ),
    )
    assert errors(result) == []
    assert result.config is not None
    assert result.config.pipelines["check"].current_patchset_only is True
    assert result.config.pipelines["old"].current_patchset_only is False


def test_run_ci_name_is_accepted_beside_an_operators_comment_pattern(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: custom
            manager: independent
            trigger:
              gerrit:
                - {event: comment-added, comment: "(?i)^please test$"}
                - {event: comment-added, approval: {Workflow: 1}}
        """,
        base=CI + CONNECTION + PIPELINE,
    )
    assert errors(result) == []
    custom, approved = gerrit_triggers(result, "custom")
    assert custom.comment is not None
    assert custom.comment.pattern == "(?i)^please test$"
    assert custom.run_comment is not None
    assert custom.run_comment.search("Patch Set 3:\n\nrun acme-storage-ci")
    assert not custom.run_comment.search("Patch Set 3:\n\nrun other-ci")
    assert approved.run_comment is None  # a trigger on votes is about the votes


def test_a_pipeline_deaf_to_ready_for_review_is_warned_about_unless_it_runs_wip(
    tmp_path: Path,
) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: ready
            manager: independent
            trigger:
              gerrit: [{event: [patchset-created, wip-state-changed]}]
            success: {gerrit: {labels: {Verified: 1}}}
        - pipeline:
            name: wip-too
            manager: independent
            skip_wip: false
            trigger:
              gerrit: [{event: patchset-created}]
            success: {gerrit: {labels: {Verified: 1}}}
        """,
    )
    wip = [w for w in warnings(result) if "ready for review" in w]
    assert wip == [
        "base.yaml:8:3: warning: pipeline 'check' skips work-in-progress changes and triggers "
        "on patchset-created but not on wip-state-changed: a change marked ready for review "
        "will not be tested — add wip-state-changed: "
        "'- event: [wip-state-changed, change-restored]'"
    ]


@pytest.mark.parametrize(
    ("pattern", "warned"),
    [
        ("^recheck$", "matches 'recheck' alone but never a review message"),
        ("(?i)^please test$", "matches 'please test' alone but never a review message"),
        (".*", "matches every comment"),
        ("(?i)recheck|", "matches every comment"),
        ("(?im)^recheck$", None),
        ("(?i)\\brecheck\\b", None),
    ],
)
def test_a_comment_pattern_that_matches_everything_or_nothing_is_warned_about(
    tmp_path: Path, pattern: str, warned: str | None
) -> None:
    result = load(
        tmp_path,
        f"""
        - pipeline:
            name: asked
            manager: independent
            trigger:
              gerrit: [{{event: comment-added, comment: '{pattern}'}}]
            success: {{gerrit: {{labels: {{Verified: 1}}}}}}
        """,
    )
    assert errors(result) == []
    found = [w for w in warnings(result) if "comment pattern" in w]
    if warned is None:
        assert found == []
    else:
        (warning,) = found
        assert f"pipeline 'asked': comment pattern '{pattern}' {warned}" in warning
        assert "(?im)^recheck$" in warning  # the fix


def test_the_default_comment_pattern_is_not_warned_about(tmp_path: Path) -> None:
    result = load(tmp_path, PIPELINE)
    assert [w for w in warnings(result) if "comment pattern" in w] == []


@pytest.mark.parametrize("example", ["sandbox-ci", "storage-driver-ci", "opnfv-integration-ci"])
def test_the_examples_test_a_change_marked_ready_or_restored(tmp_path: Path, example: str) -> None:
    paths = [EXAMPLES / example]
    if example == "sandbox-ci":  # its connection is the one `crosscheck sandbox up` writes
        sandbox = tmp_path / "connection.yaml"
        sandbox.write_text(CONNECTION.replace("name: gerrit", "name: sandbox"))
        paths.append(sandbox)
    result = load_config(paths)
    assert [str(w) for w in result.warnings] == []
    events = {e for t in gerrit_triggers(result) for e in t.events}
    assert {"patchset-created", "wip-state-changed", "change-restored"} <= events
