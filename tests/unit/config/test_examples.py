"""The shipped examples check clean: no error, no warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.config import load_config

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.mark.parametrize(
    ("example", "jobs"),
    [("storage-driver-ci", 3), ("opnfv-integration-ci", 19), ("opnfv-promotion", 5)],
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
