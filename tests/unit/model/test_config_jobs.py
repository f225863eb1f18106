"""`Config.jobs_for`: the one answer to which jobs a project runs in a pipeline."""

from __future__ import annotations

from crosscheck.model.config import Config
from crosscheck.model.job import Job
from crosscheck.model.project import Project

UNIT = Job(name="unit", timeout=60)
UNIT_REGEX = Job(name="unit", timeout=99)
LINT = Job(name="lint")
DEPLOY = Job(name="deploy")

CONFIG = Config(
    projects=(
        Project("^acme/.*", {"check": (UNIT_REGEX, LINT)}, connection="review"),
        Project("acme/driver", {"check": (UNIT,), "post": ()}, connection="review"),
        Project("acme/driver", {"check": (DEPLOY,)}, connection="upstream"),
    )
)


def test_every_entry_that_applies_adds_its_jobs_exact_names_first_each_job_once() -> None:
    assert CONFIG.jobs_for("acme/driver", "review", "check") == [UNIT, LINT]
    assert CONFIG.jobs_for("acme/lib", "review", "check") == [UNIT_REGEX, LINT]


def test_only_the_entries_on_the_connection_apply() -> None:
    assert CONFIG.jobs_for("acme/driver", "upstream", "check") == [DEPLOY]
    assert CONFIG.jobs_for("acme/lib", "upstream", "check") == []


def test_a_pipeline_listed_without_jobs_or_not_listed_gives_none() -> None:
    assert CONFIG.jobs_for("acme/driver", "review", "post") == []
    assert CONFIG.jobs_for("acme/driver", "review", "gate") == []
    assert CONFIG.jobs_for("other/project", "review", "check") == []
