"""Which changes a job runs for: files and irrelevant-files globs."""

from __future__ import annotations

import pytest

from crosscheck.model.globs import compile_glob, matches_any
from crosscheck.model.job import Job


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.rst", "README.rst", True),
        ("*.rst", "doc/source/index.rst", True),  # no slash: any directory
        ("doc/*", "doc/index.rst", True),
        ("doc/*", "doc/source/index.rst", False),  # * stays in one directory
        ("doc/**", "doc/source/index.rst", True),
        ("**/test_*.py", "test_a.py", True),
        ("**/test_*.py", "pkg/tests/test_a.py", True),
        ("cinder/volume/drivers/acme/**", "cinder/volume/drivers/acme/fc/zone.py", True),
        ("cinder/volume/drivers/acme/**", "cinder/volume/drivers/other.py", False),
        ("file?.txt", "file1.txt", True),
        ("[!a]*.py", "b.py", True),
        ("[!a]*.py", "a.py", False),
        ("a.b", "axb", False),  # dots are literal
    ],
)
def test_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_glob(pattern).match(path)) is matches


def test_an_unclosed_bracket_is_an_error() -> None:
    with pytest.raises(ValueError, match="unclosed"):
        compile_glob("[abc")


def test_files_requires_one_match() -> None:
    job = Job(name="j", files=("driver/**",))
    assert job.is_relevant(["driver/a.py", "README"])
    assert not job.is_relevant(["README"])


def test_irrelevant_files_skip_only_when_every_file_is_irrelevant() -> None:
    job = Job(name="j", irrelevant_files=("*.rst", "doc/**"))
    assert not job.is_relevant(["doc/a.txt", "README.rst"])
    assert job.is_relevant(["doc/a.txt", "setup.py"])


def test_an_empty_file_list_runs_the_job() -> None:
    assert Job(name="j", files=("x",)).is_relevant([])
    assert matches_any("a/b.py", ["nothing", "**/*.py"])
