"""A file that does not read (YAML syntax, an item that is no element) is reported once:
the names the other files take from it are not reported again as unknown."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.config import load_config
from crosscheck.config.live import LiveConfig
from crosscheck.errors import ConfigInvalidError

from .helpers import BASE, errors, write

PROJECT = """
- project:
    name: nova
    check:
      jobs: [unit, lint]
"""

JOBS = """
- job: {name: unit, node: lab, run: [tox]}
- job: {name: lint, node: lab, run: [flake8]}
"""

#: The same jobs, the second mapping's indentation broken.
JOBS_BAD_SYNTAX = """
- job: {name: unit, node: lab, run: [tox]}
- job:
    name: lint
   node: lab
"""


def test_a_syntax_error_is_the_only_error_reported(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": JOBS_BAD_SYNTAX, "projects.yaml": PROJECT})
    result = load_config([tmp_path])
    (only,) = errors(result)
    assert only.startswith("jobs.yaml:4:4: error: YAML syntax")
    assert result.unreadable == (tmp_path / "jobs.yaml",)
    assert result.unchecked is not None
    assert str(tmp_path / "jobs.yaml") in result.unchecked


@pytest.mark.parametrize(
    "broken",
    [
        "- jbo: {name: unit, node: lab, run: [tox]}\n- job: {name: lint, node: lab, run: [x]}\n",
        "- job: {name: unit, node: lab, run: [tox]}\n  lint: 1\n- job: {name: lint}\n",
    ],
    ids=["misspelt element", "item of two elements"],
)
def test_a_lost_element_silences_its_own_name_only(tmp_path: Path, broken: str) -> None:
    project = PROJECT.replace("lint]", "lint, lnt]")
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": broken, "projects.yaml": project})
    result = load_config([tmp_path])
    unknown = [line for line in errors(result) if "unknown job" in line]
    assert len(unknown) == 1, errors(result)
    assert "runs unknown job 'lnt'" in unknown[0]
    assert result.unreadable == ()


@pytest.mark.parametrize(
    "broken", ["job: {name: unit}\n", "- job\n- [a, b]\n"], ids=["not a list", "no mapping"]
)
def test_an_item_without_a_name_silences_every_unknown_name(tmp_path: Path, broken: str) -> None:
    project = PROJECT.replace("lint]", "lint, lnt]")
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": broken, "projects.yaml": project})
    result = load_config([tmp_path])
    assert not any("unknown job" in line for line in errors(result)), errors(result)
    assert result.unreadable == (tmp_path / "jobs.yaml",)


def test_unknown_names_are_reported_once_every_file_reads(tmp_path: Path) -> None:
    misspelt = PROJECT.replace("lint]", "lnt]")
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": JOBS, "projects.yaml": misspelt})
    result = load_config([tmp_path])
    assert result.unreadable == ()
    assert result.unchecked is None
    assert any("runs unknown job 'lnt'" in line for line in errors(result)), errors(result)


def test_an_empty_file_is_not_unreadable(tmp_path: Path) -> None:
    misspelt = PROJECT.replace("lint]", "lnt]")
    files = {"base.yaml": BASE, "empty.yaml": "# nothing yet\n", "jobs.yaml": JOBS}
    write(tmp_path, files | {"projects.yaml": misspelt})
    result = load_config([tmp_path])
    assert result.unreadable == ()
    assert any("runs unknown job 'lnt'" in line for line in errors(result))


def test_config_check_says_what_it_left_unchecked(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": JOBS_BAD_SYNTAX, "projects.yaml": PROJECT})
    answer = CliRunner().invoke(main, ["config", "check", str(tmp_path)])
    assert answer.exit_code == 1
    assert "unknown job" not in answer.output
    assert f"note: unknown names are not reported until {tmp_path / 'jobs.yaml'} reads" in (
        answer.output
    )
    assert "1 error(s)" in answer.output


def test_a_reload_logs_what_it_left_unchecked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": JOBS, "projects.yaml": PROJECT})
    holder = LiveConfig([tmp_path])
    (tmp_path / "jobs.yaml").write_text(JOBS_BAD_SYNTAX)
    assert not holder.reload().ok
    assert "YAML syntax" in caplog.text
    assert "unknown job" not in caplog.text
    assert "unknown names are not reported until" in caplog.text
    assert sorted(holder.current.jobs) == ["lint", "unit"]


def test_a_first_load_names_what_it_left_unchecked(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": BASE, "jobs.yaml": JOBS_BAD_SYNTAX, "projects.yaml": PROJECT})
    with pytest.raises(ConfigInvalidError) as raised:
        LiveConfig([tmp_path])
    assert "1 error(s)" in str(raised.value)
    assert str(raised.value).endswith("what the other files use may be defined there")
