"""Pipelines of candidates: `candidates: {scenario, level, jobs, on_move}` on a pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.model.pipeline import CandidateSource

from .helpers import BASE, errors, load

SCENARIO = """
- job: {name: deploy-virtual, node: lab, run: [make]}
- job: {name: base, abstract: true, node: lab}
- scenario:
    name: os-nosdn
    components:
      - {name: nova, connection: gerrit, project: openstack/nova, branch: master}
    levels:
      - {name: verified, jobs: [unit]}
      - {name: daily, below: verified, jobs: [deploy-virtual]}
"""


def pipeline(body: str) -> str:
    return f"- pipeline:\n    name: daily\n    manager: supercedent\n{body}"


def test_a_periodic_pipeline_of_the_newest_verified_candidate(tmp_path: Path) -> None:
    text = pipeline(
        "    trigger: {timer: [{time: '0 2 * * *'}]}\n"
        "    candidates: {scenario: os-nosdn, level: verified, jobs: [deploy-virtual]}\n"
    )
    result = load(tmp_path, text, BASE + SCENARIO)
    assert errors(result) == []
    assert result.config is not None
    daily = result.config.pipelines["daily"]
    assert daily.candidates == CandidateSource("os-nosdn", "verified", ("deploy-virtual",))
    assert [t.cron for t in daily.timers] == ["0 2 * * *"]


def test_on_move_alone_is_a_trigger(tmp_path: Path) -> None:
    text = pipeline(
        "    candidates: {scenario: os-nosdn, level: verified, jobs: deploy-virtual, "
        "on_move: true}\n"
    )
    result = load(tmp_path, text, BASE + SCENARIO)
    assert errors(result) == []
    assert result.config is not None
    assert result.config.pipelines["daily"].candidates == CandidateSource(
        "os-nosdn", "verified", ("deploy-virtual",), on_move=True
    )


ERRORS = {
    "no trigger at all": (
        "    candidates: {scenario: os-nosdn, level: verified, jobs: [deploy-virtual]}\n",
        "a pipeline of candidates needs a 'timer' trigger or 'on_move: true'",
    ),
    "a Gerrit trigger": (
        "    trigger: {gerrit: [{event: patchset-created}]}\n"
        "    candidates: {scenario: os-nosdn, level: verified, jobs: [deploy-virtual]}\n",
        "a pipeline of candidates is triggered by 'timer' or by its level moving "
        "('on_move: true'), not by gerrit",
    ),
    "unknown scenario": (
        "    trigger: {timer: [{time: '0 2 * * *'}]}\n"
        "    candidates: {scenario: os-nosdm, level: verified, jobs: [deploy-virtual]}\n",
        "pipeline 'daily' takes candidates of unknown scenario 'os-nosdm' — did you mean "
        "'os-nosdn'?",
    ),
    "unknown level": (
        "    trigger: {timer: [{time: '0 2 * * *'}]}\n"
        "    candidates: {scenario: os-nosdn, level: verifed, jobs: [deploy-virtual]}\n",
        "pipeline 'daily' takes candidates at unknown level 'verifed' of 'os-nosdn' — did you "
        "mean 'verified'?",
    ),
    "unknown job": (
        "    trigger: {timer: [{time: '0 2 * * *'}]}\n"
        "    candidates: {scenario: os-nosdn, level: verified, jobs: [deploy-virtal]}\n",
        "pipeline 'daily' runs unknown job 'deploy-virtal' on its candidates — did you mean "
        "'deploy-virtual'?",
    ),
    "abstract job": (
        "    trigger: {timer: [{time: '0 2 * * *'}]}\n"
        "    candidates: {scenario: os-nosdn, level: verified, jobs: [base]}\n",
        "pipeline 'daily' runs abstract (it only lends its settings) job 'base' on its candidates",
    ),
}


def test_a_project_listing_jobs_in_a_pipeline_of_candidates_is_an_error(tmp_path: Path) -> None:
    text = (
        pipeline("    candidates: {scenario: os-nosdn, jobs: [deploy-virtual], on_move: true}\n")
        + "- project: {name: acme/driver, daily: {jobs: [deploy-virtual]}}\n"
    )
    result = load(tmp_path, text, BASE + SCENARIO)
    assert result.config is None
    assert any("pipeline 'daily' takes candidates, yet a project lists jobs in it" in e
               for e in errors(result)), errors(result)  # fmt: skip


def test_components_whose_version_variables_collide_are_an_error(tmp_path: Path) -> None:
    text = SCENARIO.replace(
        "      - {name: nova, connection: gerrit, project: openstack/nova, branch: master}\n",
        "      - {name: nova-x, connection: gerrit, project: openstack/nova, branch: master}\n"
        "      - {name: nova_x, connection: gerrit, project: openstack/neutron, branch: master}\n",
    )
    result = load(tmp_path, text, BASE)
    assert result.config is None
    assert any("components 'nova-x' and 'nova_x' would both set CROSSCHECK_VERSION_NOVA_X" in e
               for e in errors(result)), errors(result)  # fmt: skip


@pytest.mark.parametrize(("body", "words"), ERRORS.values(), ids=ERRORS.keys())
def test_each_mistake_is_named(tmp_path: Path, body: str, words: str) -> None:
    result = load(tmp_path, pipeline(body), BASE + SCENARIO)
    assert result.config is None
    assert any(words in error for error in errors(result)), errors(result)
    assert all(error.startswith("test.yaml:") for error in errors(result)), errors(result)
