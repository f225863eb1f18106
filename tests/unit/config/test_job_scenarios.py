"""A job run in a scenario: `scenario: NAME` or `{name, level}`, checked against the
scenarios with file:line:column errors, inherited, and shown by `config show`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.model.job import JobScenario

from .helpers import BASE, errors, load, warnings, write
from .test_scenarios import JOBS, VALID

IN_SCENARIO = """
- job: {name: base-deploy, abstract: true, scenario: {name: os-nosdn-nofeature, level: daily}}
- job: {name: deploy, parent: base-deploy, node: lab, run: [make]}
- job: {name: newest, node: lab, run: [make], scenario: os-nosdn-nofeature}
"""


def test_a_job_names_its_scenario_and_level_and_its_children_inherit_them(
    tmp_path: Path,
) -> None:
    result = load(tmp_path, VALID + IN_SCENARIO, BASE)
    assert result.config is not None, errors(result)
    jobs = result.config.jobs
    assert jobs["deploy"].scenario == JobScenario("os-nosdn-nofeature", "daily")
    assert jobs["newest"].scenario == JobScenario("os-nosdn-nofeature", None)
    assert jobs["unit"].scenario is None


ERRORS = {
    "unknown scenario": (
        "- job: {name: d, node: lab, run: [make], scenario: os-nosdn-nofeatur}\n",
        "test.yaml:25:52: error: job 'd' runs in unknown scenario 'os-nosdn-nofeatur' — did "
        "you mean 'os-nosdn-nofeature'?",
    ),
    "unknown level": (
        "- job: {name: d, node: lab, run: [make],\n"
        "        scenario: {name: os-nosdn-nofeature, level: dayly}}\n",
        "test.yaml:26:53: error: job 'd' runs in scenario 'os-nosdn-nofeature' at unknown "
        "level 'dayly' — did you mean 'daily'?",
    ),
    "a list": (
        "- job: {name: d, node: lab, run: [make], scenario: [os-nosdn-nofeature]}\n",
        "test.yaml:25:52: error: 'scenario' in job 'd': write 'scenario: NAME' or "
        "'scenario: {name: NAME, level: LEVEL}'",
    ),
    "unknown key": (
        "- job: {name: d, node: lab, run: [make], scenario: {name: x, levle: daily}}\n",
        "test.yaml:25:62: error: unknown key 'levle' in job 'd' — did you mean 'level'?",
    ),
}


@pytest.mark.parametrize(("text", "expected"), ERRORS.values(), ids=ERRORS.keys())
def test_each_error_is_reported_where_it_is_written(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = load(tmp_path, VALID + text, BASE)
    assert expected in errors(result), errors(result)
    assert result.config is None


def test_config_show_prints_a_jobs_scenario(tmp_path: Path) -> None:
    (path,) = write(tmp_path, {"test.yaml": BASE + VALID + IN_SCENARIO})
    shown = CliRunner().invoke(main, ["config", "show", str(path)])
    assert shown.exit_code == 0, shown.output
    elements = yaml.safe_load(shown.output)
    jobs = {e["job"]["name"]: e["job"] for e in elements if "job" in e}
    assert jobs["deploy"]["scenario"] == {"name": "os-nosdn-nofeature", "level": "daily"}
    assert jobs["newest"]["scenario"] == {"name": "os-nosdn-nofeature"}
    assert JOBS  # the scenario's own jobs are the module's


def test_a_scenario_jobs_required_projects_are_warned_about(tmp_path: Path) -> None:
    text = (
        "- job: {name: d, node: lab, run: [make], scenario: os-nosdn-nofeature,\n"
        "        required_projects: [opnfv/releng]}\n"
    )
    result = load(tmp_path, VALID + text, BASE)
    assert result.config is not None, errors(result)
    assert (
        "test.yaml:25:3: warning: job 'd' runs in scenario 'os-nosdn-nofeature': its "
        "required projects (opnfv/releng) are not checked out, the scenario's components are "
        "— make them components of scenario 'os-nosdn-nofeature', or remove them"
    ) in warnings(result)


@pytest.mark.parametrize(
    ("component", "words"),
    [
        ("{name: x/../../../tmp/escaped, git: 'https://git.example/x', branch: master}",
         "cannot name a component"),
        ("{name: pinned-versions.yaml, git: 'https://git.example/x', branch: master}",
         "cannot name a component"),
        ("{name: x, connection: gerrit, project: a/../../x, branch: master}",
         "is not a Gerrit project name"),
    ],
)  # fmt: skip
def test_a_component_cannot_name_a_place_outside_its_directory(
    tmp_path: Path, component: str, words: str
) -> None:
    text = (
        "- scenario:\n    name: s\n    components:\n"
        f"      - {component}\n"
        "    levels:\n      - {name: verified, jobs: [unit]}\n"
    )
    result = load(tmp_path, JOBS + text, BASE)
    assert result.config is None
    assert any(words in e for e in errors(result)), errors(result)
