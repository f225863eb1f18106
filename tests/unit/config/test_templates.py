"""Job and project templates: matrices, overrides, escapes, and their errors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from crosscheck.config.issues import IssueList, Position
from crosscheck.config.templates import (
    MissingParameterError,
    combinations,
    compile_template,
    placeholders,
    render,
    resolve_parameters,
)
from crosscheck.config.yaml_source import load_yaml

from .helpers import errors, load, warnings

TEMPLATE = """
- job-template:
    name: "{installer}-{scenario}-deploy"
    node: lab
    env:
      INSTALLER: "{installer}"
      SCENARIO: "{scenario}"
    run: ["deploy {installer} {scenario}"]
"""


def with_template(text: str) -> str:
    return TEMPLATE + textwrap.dedent(text)


def job_names(text: str, tmp_path: Path) -> list[str]:
    result = load(tmp_path, with_template(text))
    assert errors(result) == []
    assert result.config is not None
    return [
        job.name
        for project in result.config.projects
        for jobs in project.pipelines.values()
        for job in jobs
    ]


def test_list_parameters_expand_as_a_cartesian_product_in_a_stable_order(tmp_path: Path) -> None:
    names = job_names(
        """
        - project:
            name: p
            parameters:
              installer: [apex, fuel]
              scenario: [ha, noha, odl]
            check:
              jobs: ["{installer}-{scenario}-deploy"]
        """,
        tmp_path,
    )
    assert names == [
        "apex-ha-deploy",
        "apex-noha-deploy",
        "apex-odl-deploy",
        "fuel-ha-deploy",
        "fuel-noha-deploy",
        "fuel-odl-deploy",
    ]


def test_values_are_substituted_everywhere(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        with_template("""
        - project:
            name: p
            parameters: {installer: apex, scenario: ha}
            check: {jobs: ["{installer}-{scenario}-deploy"]}
        """),
    )
    assert result.config is not None
    job = result.config.jobs["apex-ha-deploy"]
    assert dict(job.env) == {"INSTALLER": "apex", "SCENARIO": "ha"}
    assert job.run[0].shell == "deploy apex ha"


def test_a_per_project_override_narrows_the_matrix(tmp_path: Path) -> None:
    names = job_names(
        """
        - project:
            name: p
            parameters:
              installer: [apex, fuel]
              scenario: [ha, noha]
            check:
              jobs:
                - "{installer}-{scenario}-deploy": {scenario: ha, voting: false}
        """,
        tmp_path,
    )
    assert names == ["apex-ha-deploy", "fuel-ha-deploy"]


def test_project_template_parameters_and_project_overrides(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        with_template("""
        - project-template:
            name: matrix
            parameters:
              installer: [apex, fuel]
              scenario: [ha, noha]
            check: {jobs: ["{installer}-{scenario}-deploy"]}
        - project:
            name: a
            templates: [matrix]
        - project:
            name: b
            templates: [matrix]
            parameters: {installer: fuel}
        """),
    )
    assert errors(result) == []
    assert result.config is not None
    by_project = {p.name: [j.name for j in p.pipelines["check"]] for p in result.config.projects}
    assert by_project == {
        "a": ["apex-ha-deploy", "apex-noha-deploy", "fuel-ha-deploy", "fuel-noha-deploy"],
        "b": ["fuel-ha-deploy", "fuel-noha-deploy"],
    }
    # The same generated job from two projects is one job.
    assert sorted(result.config.jobs) == [
        "apex-ha-deploy",
        "apex-noha-deploy",
        "fuel-ha-deploy",
        "fuel-noha-deploy",
    ]


def test_project_job_overrides_apply_to_that_project_only(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: tempest, node: lab, run: [make], timeout: 1h}
        - project:
            name: a
            check: {jobs: [{tempest: {voting: false, timeout: 2h}}]}
        - project:
            name: b
            check: {jobs: [tempest]}
        """,
    )
    assert result.config is not None
    a, b = result.config.projects
    assert (a.pipelines["check"][0].voting, a.pipelines["check"][0].timeout) == (False, 7200)
    assert (b.pipelines["check"][0].voting, b.pipelines["check"][0].timeout) == (True, 3600)
    assert result.config.jobs["tempest"].voting is True


def test_a_later_entry_for_the_same_job_adds_its_overrides(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: tempest, node: lab, run: [make]}
        - project:
            name: a
            check: {jobs: [{tempest: {voting: false}}, {tempest: {timeout: 2h}}]}
        """,
    )
    assert result.config is not None
    (job,) = result.config.projects[0].pipelines["check"]
    assert (job.voting, job.timeout) == (False, 7200)


def test_a_whole_value_placeholder_keeps_the_parameter_type(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job-template:
            name: "{name}-unit"
            node: lab
            timeout: "{timeout}"
            voting: "{voting}"
            run: [tox]
            parameters: {timeout: 600, voting: false}
        - project:
            name: nova
            check: {jobs: ["{name}-unit"]}
        """,
    )
    assert errors(result) == []
    assert result.config is not None
    job = result.config.jobs["nova-unit"]
    assert (job.timeout, job.voting) == (600, False)


def test_an_entry_key_the_template_uses_is_a_parameter_not_an_override(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job-template:
            name: "{name}-deploy"
            node: lab
            timeout: "{timeout}"
            run: [deploy]
        - project:
            name: nova
            check: {jobs: [{"{name}-deploy": {timeout: 2h}}]}
        """,
    )
    assert errors(result) == []
    assert result.config is not None
    assert result.config.jobs["nova-deploy"].timeout == 7200


def test_double_braces_are_literal(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job-template:
            name: "{name}-lint"
            node: lab
            run: ["echo {{not-a-param}} for {name}"]
        - project:
            name: nova
            check: {jobs: ["{name}-lint"]}
        """,
    )
    assert result.config is not None
    assert result.config.jobs["nova-lint"].run[0].shell == "echo {not-a-param} for nova"


def test_dashes_chains_empty_values_and_keys(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job-template:
            name: "{name}-tox-{py-ver}"
            node: lab
            env: {"{var}": "{branch}"}
            run: ["tox -e {py-ver} {tox_args}"]
        - project:
            name: nova
            parameters:
              py-ver: [py310, py311]
              tox_args:
              var: BRANCH
              release: "2024.1"
              branch: "stable/{release}"
            check: {jobs: ["{name}-tox-{py-ver}"]}
        """,
    )
    assert errors(result) == []
    assert result.config is not None
    job = result.config.jobs["nova-tox-py311"]
    assert job.run[0].shell == "tox -e py311 "
    assert dict(job.env) == {"BRANCH": "stable/2024.1"}
    assert sorted(result.config.jobs) == ["nova-tox-py310", "nova-tox-py311"]


def test_a_missing_parameter_points_at_its_use_and_suggests(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        with_template("""
        - project:
            name: p
            parameters: {installer: apex, scenarios: [ha]}
            check: {jobs: ["{installer}-{scenario}-deploy"]}
        """),
    )
    assert errors(result) == [
        "test.yaml:2:11: error: job-template '{installer}-{scenario}-deploy' uses parameter "
        f"'scenario', which project 'p' does not set (listed at {tmp_path}/test.yaml:12:20) — "
        "did you mean 'scenarios'?"
    ]


def test_an_empty_list_parameter_is_warned_about(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        with_template("""
        - project:
            name: p
            parameters: {installer: apex, scenario: []}
            check: {jobs: ["{installer}-{scenario}-deploy"]}
        """),
    )
    assert errors(result) == []
    assert (
        "test.yaml:12:20: warning: parameter 'scenario' is an empty list, so job-template "
        "'{installer}-{scenario}-deploy' makes no job for project 'p'" in warnings(result)
    )


def test_an_override_that_is_neither_attribute_nor_parameter(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        with_template("""
        - project:
            name: p
            parameters: {installer: apex, scenario: ha}
            check:
              jobs:
                - "{installer}-{scenario}-deploy": {scenaro: noha}
        """),
    )
    assert errors(result) == [
        "test.yaml:14:45: error: 'scenaro' is neither a job attribute nor a parameter of "
        "job-template '{installer}-{scenario}-deploy' — did you mean 'scenario'?"
    ]


def test_a_list_parameter_missing_from_the_name_is_caught(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job-template:
            name: "{installer}-deploy"
            node: lab
            run: ["deploy {installer} {scenario}"]
        - project:
            name: p
            parameters: {installer: apex, scenario: [ha, noha]}
            check: {jobs: ["{installer}-deploy"]}
        """,
    )
    assert len(errors(result)) == 1
    assert errors(result)[0].endswith(
        "with a different definition — put every list parameter the template uses into its name"
    )


def test_an_unfilled_placeholder_in_a_name_is_an_error(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job-template:
            name: "{name}-unit-{{literal}}"
            node: lab
            run: [tox]
        - project: {name: nova, check: {jobs: ["{name}-unit-{{literal}}"]}}
        """,
    )
    assert len(errors(result)) == 1
    assert "holds a placeholder that no parameter filled" in errors(result)[0]


def test_an_error_in_an_expanded_job_points_into_the_template(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job-template:
            name: "{name}-unit"
            node: lab
            timeout: "{timeout}"
            run: [tox]
        - project:
            name: nova
            parameters: {timeout: soon}
            check: {jobs: ["{name}-unit"]}
        """,
    )
    assert errors(result) == [
        "test.yaml:4:14: error: 'timeout' in job 'nova-unit' from job-template '{name}-unit' for "
        f"project 'nova' (listed at {tmp_path}/test.yaml:9:20): 'soon' is not a duration: use "
        "seconds (3600) or '1h30m', '90m', '45s'"
    ]


def test_an_override_node_must_be_a_declared_label(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, node: lab, run: [x]}
        - project: {name: p, check: {jobs: [{a: {node: labb}}]}}
        """,
    )
    assert errors(result) == [
        "test.yaml:2:38: error: project 'p' runs job 'a' on unknown node label 'labb' — "
        "did you mean 'lab'?"
    ]


def test_a_template_error_is_reported_once_not_per_project(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - project-template: {name: common, chekc: {jobs: [a]}, check: {jobs: [nope]}}
        - project: {name: p, templates: [common]}
        - project: {name: q, templates: [common]}
        """,
    )
    assert len(errors(result)) == 2
    assert all("project-template 'common'" in e for e in errors(result))


def test_a_broken_job_is_not_also_reported_as_unknown(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, node: lab, run: [x], timeout: forever}
        - project: {name: p, check: {jobs: [a]}}
        """,
    )
    assert len(errors(result)) == 1
    assert "'forever' is not a duration" in errors(result)[0]


def test_unrelated_list_parameters_do_not_multiply_jobs() -> None:
    template = {"name": "{a}-job", "run": ["x {a}"]}
    bound = list(combinations(template, {"a": ["1", "2"], "unused": ["x", "y", "z"]}))
    assert [b["a"] for b in bound] == ["1", "2"]


def test_a_parameter_used_through_another_one_expands_the_matrix() -> None:
    template = {"name": "{name}-{branch}"}
    bound = list(
        combinations(template, {"name": "n", "release": ["a", "b"], "branch": "stable-{release}"})
    )
    assert [b["branch"] for b in bound] == ["stable-a", "stable-b"]


def test_repeated_values_expand_once() -> None:
    bound = list(combinations({"name": "{a}"}, {"a": ["x", "x", "y"]}))
    assert [b["a"] for b in bound] == ["x", "y"]


def test_placeholders_in_order_of_first_use() -> None:
    assert placeholders({"name": "{b}-{a}", "env": {"X": "{c}{a}"}}) == ["b", "a", "c"]
    assert render({"x": "{{literal}}"}, {}) == {"x": "{literal}"}
    assert resolve_parameters({"a": "{b}", "b": "{c}", "c": "z"}) == {"a": "z", "b": "z", "c": "z"}


def _yaml(text: str) -> Any:
    return load_yaml(textwrap.dedent(text), Path("t.yaml"), IssueList())


def test_a_compiled_template_shares_what_no_parameter_changes() -> None:
    template = _yaml("""
        name: "{a}-job"
        env: {FIXED: "1", CHANGED: "{a}"}
        run: [make, test]
        literal: {x: "{{braces}}"}
    """)
    render_job = compile_template(template)
    one, two = render_job({"a": "x"}), render_job({"a": "y"})
    assert (one["name"], two["env"]["CHANGED"]) == ("x-job", "y")
    assert one["run"] is two["run"] is template["run"]  # no placeholder: shared
    assert one["env"] is not two["env"]
    assert one["env"].value_at == template["env"].value_at  # positions kept
    # `{{` is no placeholder but is changed: the template's own value is not shared.
    assert one["literal"] == {"x": "{braces}"}
    assert template["literal"] == {"x": "{{braces}}"}


def test_a_missing_parameter_is_raised_with_the_position_of_its_use() -> None:
    template = _yaml("""
        name: job
        env:
          "{key}": value
        run: ["make {target}"]
    """)
    with pytest.raises(MissingParameterError) as raised:
        compile_template(template)({"target": "all"})
    assert raised.value.name == "key"
    assert raised.value.position == Position(Path("t.yaml"), 4, 3)
    with pytest.raises(MissingParameterError) as raised:
        compile_template(template)({"key": "K"})
    assert (raised.value.name, raised.value.position) == (
        "target",
        Position(Path("t.yaml"), 5, 7),
    )
