"""`targets`: the project entries a due rule fires for, each on its connection."""

from __future__ import annotations

from pathlib import Path

from crosscheck.config.loader import load_config
from crosscheck.drivers.timer.targets import targets

from .fakes import load

NO_CONNECTION = """
- label: {name: local}
- job: {name: deploy, node: local, run: [make deploy]}
- pipeline:
    name: daily
    manager: supercedent
    trigger:
      timer: [{time: "0 2 * * *"}]
- project:
    name: acme/driver
    daily: {jobs: [deploy]}
"""


def test_entries_with_jobs_in_the_pipeline_fire_on_the_only_connection(tmp_path: Path) -> None:
    found, problems = targets(load(tmp_path), "daily")
    assert [(t.connection, t.project.name) for t in found] == [
        ("review", "acme/driver"),
        ("review", "^acme/lib-.*"),
    ]
    assert problems == []


def test_without_any_connection_an_entry_cannot_fire_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "ci.yaml"
    path.write_text(NO_CONNECTION)
    result = load_config([path])
    assert result.config is not None, [str(e) for e in result.errors]
    found, problems = targets(result.config, "daily")
    assert found == []
    assert problems == ["project 'acme/driver' names no connection"]
