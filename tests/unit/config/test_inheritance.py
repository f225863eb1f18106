"""Jobs inherit from their parents: values replace, env merges, abstract stays put."""

from __future__ import annotations

from pathlib import Path

from .helpers import errors, load


def test_child_values_replace_and_env_merges(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job:
            name: base
            abstract: true
            node: lab
            timeout: 2h
            env: {A: "1", B: "1"}
            irrelevant_files: ["*.rst"]
            required_projects: [openstack/devstack]
        - job:
            name: middle
            parent: base
            env: {B: "2"}
            run: [make]
        - job:
            name: leaf
            parent: middle
            timeout: 30m
            env: {C: 3}
        - project: {name: p, check: {jobs: [leaf, middle]}}
        """,
    )
    assert errors(result) == []
    assert result.config is not None
    leaf = result.config.jobs["leaf"]
    assert dict(leaf.env) == {"A": "1", "B": "2", "C": "3"}
    assert leaf.timeout == 1800
    assert leaf.node == "lab"
    assert leaf.run[0].shell == "make"
    assert leaf.irrelevant_files == ("*.rst",)
    assert [rp.name for rp in leaf.required_projects] == ["openstack/devstack"]
    assert leaf.inherits == ("middle", "base")
    assert result.config.jobs["middle"].timeout == 7200
    assert result.config.jobs["base"].abstract
    assert not leaf.abstract


def test_defaults_apply_when_nobody_sets_a_value(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, node: lab, run: [make]}
        - project: {name: p, check: {jobs: [a]}}
        """,
    )
    assert result.config is not None
    job = result.config.jobs["a"]
    assert (job.timeout, job.voting, job.attempts, job.inherits) == (3600, True, 3, ())


def test_a_childs_error_is_not_repeated_for_its_descendants(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, parent: missing, node: lab, run: [x]}
        - job: {name: b, parent: a, run: [x]}
        - job: {name: c, parent: b, run: [x]}
        """,
    )
    assert len(errors(result)) == 1
