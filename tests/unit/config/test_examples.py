"""The shipped examples check clean: no error, no warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.config import load_config
from crosscheck.model.pipeline import GerritTrigger

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.mark.parametrize(
    ("example", "jobs"),
    [
        ("storage-driver-ci", 3),
        ("opnfv-integration-ci", 19),
        ("opnfv-promotion", 5),
        ("opnfv-cross-community", 5),
    ],
)
def test_example_checks_clean(example: str, jobs: int) -> None:
    result = load_config([EXAMPLES / example])
    assert [str(e) for e in result.errors] == []
    assert [str(w) for w in result.warnings] == []
    assert result.config is not None
    assert len(result.config.jobs) == jobs


def test_storage_example_has_a_non_voting_job_a_files_filter_and_recheck() -> None:
    config = load_config([EXAMPLES / "storage-driver-ci"]).config
    assert config is not None
    (cinder,) = config.projects_for("openstack/cinder")
    jobs = {job.name: job for job in cinder.pipelines["check"]}
    assert jobs["acme-cinder-fc"].voting is False
    assert jobs["acme-cinder-iscsi"].voting is True
    assert jobs["acme-cinder-fc"].files
    assert not jobs["acme-cinder-fc"].is_relevant(["cinder/api/v3/volumes.py"])
    assert jobs["acme-cinder-fc"].is_relevant(["cinder/volume/drivers/acme/iscsi.py"])
    assert not jobs["acme-cinder-iscsi"].is_relevant(["doc/source/index.rst", "README.rst"])
    comment_trigger = next(
        t for t in config.pipelines["check"].triggers if "comment-added" in getattr(t, "events", ())
    )
    assert comment_trigger.comment is not None  # type: ignore[union-attr]
    assert comment_trigger.comment.search("Patch Set 2:\n\nrecheck")  # type: ignore[union-attr]
    assert comment_trigger.comment.search("run acme-storage")  # type: ignore[union-attr]


def test_storage_example_reports_its_results_upstream() -> None:
    config = load_config([EXAMPLES / "storage-driver-ci"]).config
    assert config is not None
    results = config.results
    assert results.report_url("http://ci.acme.example") == "https://results.example.org"
    assert (results.serve, results.account) == (False, "Acme Storage CI")
    assert results.token_file == Path("~/.config/crosscheck/results.token").expanduser()


def test_promotion_example_has_two_scenarios_four_levels_and_two_channels() -> None:
    config = load_config([EXAMPLES / "opnfv-promotion"]).config
    assert config is not None
    assert sorted(config.scenarios) == ["os-nosdn-nofeature", "os-odl-nofeature"]
    for scenario in config.scenarios.values():
        assert [level.name for level in scenario.levels] == [
            "verified",
            "daily",
            "weekly",
            "release",
        ]
        assert {(c.name, c.level) for c in scenario.channels} == {
            ("developer", "daily"),
            ("stable", "release"),
        }
        assert len(scenario.components) == 4
        assert any(c.git_url for c in scenario.components)


def test_promotion_example_tests_candidates_in_pipelines_of_their_own() -> None:
    config = load_config([EXAMPLES / "opnfv-promotion"]).config
    assert config is not None
    taken = {
        name: (p.candidates.level, p.candidates.jobs, p.candidates.on_move)
        for name, p in config.pipelines.items()
        if p.candidates is not None
    }
    assert taken == {
        "nosdn-new": (None, ("apex-unit",), True),
        "nosdn-daily": ("verified", ("deploy-virtual", "functest-smoke"), False),
        "nosdn-weekly": ("daily", ("deploy-baremetal",), False),
    }


def test_cross_community_example_tests_patches_of_two_gerrits_in_two_scenarios() -> None:
    config = load_config([EXAMPLES / "opnfv-cross-community"]).config
    assert config is not None
    assert sorted(config.connections) == ["openstack", "opnfv"]
    assert sorted(config.scenarios) == ["os-nosdn-nofeature", "os-odl-nofeature"]
    for scenario in config.scenarios.values():
        on = {c.connection for c in scenario.components if c.connection}
        assert on == {"openstack", "opnfv"}
        assert any(c.git_url for c in scenario.components)
        assert any(c.pinned for c in scenario.components)
        assert [level.name for level in scenario.levels] == ["verified", "daily"]
    in_scenario = {
        name: (job.scenario.name, job.scenario.level)
        for name, job in config.jobs.items()
        if job.scenario is not None
    }
    assert in_scenario == {
        "os-nosdn-nofeature-virtual": ("os-nosdn-nofeature", "daily"),
        "os-odl-nofeature-virtual": ("os-odl-nofeature", "daily"),
        "os-odl-nofeature-newest": ("os-odl-nofeature", None),
    }
    check = config.pipelines["check"]
    triggers = [t for t in check.triggers if isinstance(t, GerritTrigger)]
    assert len(triggers) == len(check.triggers)
    for connection in ("openstack", "opnfv"):
        events = {e for t in triggers if t.connection == connection for e in t.events}
        assert {"patchset-created", "comment-added", "wip-state-changed"} <= events
    assert {t.connection for t in triggers} == {"openstack", "opnfv"}
    assert {a.connection for a in check.success} == {"openstack", "opnfv"}
    assert {a.connection for a in check.failure} == {"openstack", "opnfv"}
    (apex,) = config.projects_for("opnfv/apex")
    assert apex.connection == "opnfv"
    assert {job.name for job in apex.pipelines["check"]} == {
        "os-nosdn-nofeature-virtual",
        "os-odl-nofeature-virtual",
    }
