"""`crosscheck config check` and `crosscheck config show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from crosscheck.cli import main

from .helpers import BASE, write

EXAMPLES = Path(__file__).parents[3] / "examples"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_check_a_clean_example() -> None:
    code, output = run("config", "check", str(EXAMPLES / "storage-driver-ci"))
    assert code == 0
    assert output.strip() == "0 error(s), 0 warning(s) in 4 file(s); 3 job(s)"


def test_check_lists_every_error_and_exits_1(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": BASE,
            "bad.yaml": """
        - job: {name: a, node: lab, run: [make], tiemout: 10}
        - pipeline: {name: p, manager: independent, trigger: {gerrit: [{event: push}]}}
        """,
        },
    )
    code, output = run("config", "check", str(tmp_path))
    lines = output.strip().splitlines()
    assert code == 1
    assert lines[0].endswith(
        "bad.yaml:1:42: error: unknown key 'tiemout' in job 'a' — did you mean 'timeout'?"
    )
    assert "bad.yaml:2:72: error: 'event.0' in trigger 1 on 'gerrit'" in lines[1]
    assert lines[-1] == "2 error(s), 0 warning(s) in 2 file(s); 0 job(s)"


def test_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": BASE, "x.yaml": "- job: {name: a, node: lab, run: [x]}\n"})
    assert run("config", "check", str(tmp_path))[0] == 0
    code, output = run("config", "check", "--strict", str(tmp_path))
    assert code == 1
    assert "warning: job 'a' is not run by any project" in output


def test_check_uses_crosscheck_config_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSCHECK_CONFIG", str(EXAMPLES / "opnfv-integration-ci"))
    code, output = run("config", "check")
    assert code == 0
    assert "19 job(s)" in output


def test_show_prints_resolved_yaml_that_reads_back() -> None:
    code, output = run(
        "config",
        "show",
        str(EXAMPLES / "opnfv-integration-ci"),
        "--job",
        "apex-os-nosdn-ovs-ha-functest",
    )
    assert code == 0
    (element,) = yaml.safe_load(output)
    job = element["job"]
    assert job["inherits"] == ["xci-base"]
    assert job["node"] == "apex-baremetal"
    assert job["timeout"] == 4 * 3600
    assert job["env"] == {
        "XCI_FLAVOR": "ha",
        "INSTALLER_TYPE": "apex",
        "DEPLOY_SCENARIO": "os-nosdn-ovs-ha",
    }


def test_show_a_project_lists_its_pipelines() -> None:
    code, output = run(
        "config", "show", str(EXAMPLES / "storage-driver-ci"), "--project", "openstack/cinder"
    )
    assert code == 0
    (element,) = yaml.safe_load(output)
    jobs = element["project"]["check"]["jobs"]
    assert [(j["name"], j["voting"]) for j in jobs] == [
        ("acme-cinder-iscsi", True),
        ("acme-cinder-fc", False),
    ]


def test_show_an_unknown_job_suggests_one() -> None:
    code, output = run(
        "config", "show", str(EXAMPLES / "storage-driver-ci"), "--job", "acme-cinder-isci"
    )
    assert code == 2
    assert "no job 'acme-cinder-isci'; did you mean 'acme-cinder-iscsi'?" in output


def test_show_refuses_a_configuration_with_errors(tmp_path: Path) -> None:
    write(tmp_path, {"x.yaml": "- jobb: {}\n"})
    code, output = run("config", "show", str(tmp_path))
    assert code == 1
    assert "unknown element 'jobb'" in output
    assert "the configuration has errors" in output


def test_show_a_job_as_a_project_runs_it() -> None:
    code, output = run(
        "config",
        "show",
        str(EXAMPLES / "storage-driver-ci"),
        "--project",
        "openstack/cinder",
        "--job",
        "acme-cinder-fc",
    )
    assert code == 0
    (element,) = yaml.safe_load(output)
    assert element["job"]["pipeline"] == "check"
    assert element["job"]["voting"] is False  # the project's override, not the job's default


def test_show_a_project_the_job_is_not_run_for() -> None:
    code, output = run(
        "config",
        "show",
        str(EXAMPLES / "storage-driver-ci"),
        "--project",
        "openstack/nova",
        "--job",
        "acme-cinder-fc",
    )
    assert code == 2
    assert "no project entry for 'openstack/nova' runs job 'acme-cinder-fc'" in output


def test_show_prints_each_job_once_and_projects_name_them_with_their_changes() -> None:
    code, output = run("config", "show", str(EXAMPLES / "storage-driver-ci"))
    assert code == 0
    elements = yaml.safe_load(output)
    jobs = [e["job"]["name"] for e in elements if "job" in e]
    assert sorted(jobs) == sorted(set(jobs))
    assert output.count("acme-cinder-fc") == 2  # its element, and the project's reference
    (project,) = [e["project"] for e in elements if "project" in e]
    assert project["check"]["jobs"] == ["acme-cinder-iscsi", {"acme-cinder-fc": {"voting": False}}]


def test_show_as_json_is_the_same_elements() -> None:
    code, as_json = run(
        "config", "show", str(EXAMPLES / "opnfv-integration-ci"), "--format", "json"
    )
    assert code == 0
    _, as_yaml = run("config", "show", str(EXAMPLES / "opnfv-integration-ci"))
    assert json.loads(as_json) == yaml.safe_load(as_yaml)
    code, one = run(
        "config", "show", str(EXAMPLES / "storage-driver-ci"), "--job", "acme-cinder-fc"
    )
    assert code == 0
    code, one_json = run(
        *("config", "show", str(EXAMPLES / "storage-driver-ci")),
        *("--job", "acme-cinder-fc", "--format", "json"),
    )
    assert json.loads(one_json) == yaml.safe_load(one)


def test_show_refuses_an_unknown_format() -> None:
    code, output = run("config", "show", str(EXAMPLES / "storage-driver-ci"), "--format", "xml")
    assert code == 2
    assert "'xml' is not one of 'yaml', 'json'" in output
