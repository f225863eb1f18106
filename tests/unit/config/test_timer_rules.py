"""Timer trigger rules: schedules, branches, and what `config check` says about them."""

from __future__ import annotations

from pathlib import Path

from crosscheck.model.pipeline import TimerTrigger

from .helpers import CONNECTION, errors, load, warnings

TIMER_PIPELINE = """
- pipeline:
    name: nightly
    manager: supercedent
    trigger:
      timer:
        - time: "0 2 * * *"
          branches: %s
- label: {name: lab}
- job: {name: deploy, node: lab, run: [make deploy]}
- project: {name: acme/driver, nightly: {jobs: [deploy]}}
"""


def test_branches_are_kept_in_order_without_repeats(tmp_path: Path) -> None:
    result = load(tmp_path, TIMER_PIPELINE % "[master, stable/1.0, master]", base=CONNECTION)
    assert errors(result) == []
    assert result.config is not None
    assert result.config.pipelines["nightly"].triggers == (
        TimerTrigger("0 2 * * *", ("master", "stable/1.0")),
    )


def test_one_branch_may_be_written_alone(tmp_path: Path) -> None:
    result = load(tmp_path, TIMER_PIPELINE % "stable/1.0", base=CONNECTION)
    assert result.config is not None
    assert result.config.pipelines["nightly"].timers[0].branches == ("stable/1.0",)


def test_bad_branches_are_located_with_how_to_fix_them(tmp_path: Path) -> None:
    result = load(
        tmp_path, TIMER_PIPELINE % '[master, "stable/.*", refs/heads/main]', base=CONNECTION
    )
    where = "in trigger 1 on 'timer' of pipeline 'nightly'"
    assert errors(result) == [
        f"test.yaml:7:30: error: 'branches.1' {where}: 'stable/.*' is not a branch name: "
        "branches are exact names, not patterns, e.g. [master, stable/2024.1]",
        f"test.yaml:7:43: error: 'branches.2' {where}: 'refs/heads/main': give the "
        "branch's name, e.g. 'main'",
    ]


def test_an_empty_branch_list_says_what_leaving_it_out_means(tmp_path: Path) -> None:
    result = load(tmp_path, TIMER_PIPELINE % "[]", base=CONNECTION)
    assert errors(result) == [
        "test.yaml:7:21: error: 'branches' in trigger 1 on 'timer' of pipeline 'nightly': "
        "name at least one branch, or leave 'branches' out to fire on each project's HEAD branch"
    ]


def test_a_misspelt_key_in_a_timer_rule_gets_a_suggestion(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: nightly
            manager: supercedent
            trigger:
              timer: [{time: "0 2 * * *", branch: master}]
        """,
        base=CONNECTION,
    )
    assert errors(result) == [
        "test.yaml:5:35: error: unknown key 'branch' in trigger 1 on 'timer' of pipeline "
        "'nightly' — did you mean 'branches'?"
    ]


def test_reports_a_timer_pipeline_can_never_send_are_warned_about(tmp_path: Path) -> None:
    silent = TIMER_PIPELINE % "[master]"
    assert warnings(load(tmp_path / "silent", silent, base=CONNECTION)) == []
    voting = silent.replace(
        "    trigger:", "    success: {gerrit: {labels: {Verified: 1}}}\n    trigger:"
    )
    assert warnings(load(tmp_path / "voting", voting, base=CONNECTION)) == [
        "test.yaml:1:3: warning: pipeline 'nightly' is triggered only by a timer: its items "
        "are branch tips, not changes, so its reports to Gerrit are never sent — remove its "
        "reporters; its builds and their logs are recorded all the same"
    ]
