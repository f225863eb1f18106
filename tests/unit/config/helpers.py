"""Write configuration files into a temporary directory and load them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from crosscheck.config import ConfigIssue, LoadResult, load_config

CONNECTION = """
- connection:
    name: gerrit
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
    http_password_env: CI_PASSWORD
"""

PIPELINE = """
- pipeline:
    name: check
    manager: independent
    trigger:
      gerrit:
        - event: patchset-created
    success:
      gerrit: {labels: {Verified: 1}}
    failure:
      gerrit: {labels: {Verified: -1}}
"""

BASE = (
    CONNECTION
    + PIPELINE
    + """
- label:
    name: lab
"""
)


def write(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        paths.append(path)
    return paths


def load(root: Path, text: str, base: str = BASE) -> LoadResult:
    """Load `base` (a valid connection, pipeline and label) plus `text`, as two files."""
    write(root, {"base.yaml": base, "test.yaml": text})
    return load_config([root])


def render(issue: ConfigIssue) -> str:
    where = (
        f"{issue.position.path.name}:{issue.position.line}:{issue.position.column}: "
        if issue.position
        else ""
    )
    hint = f" — {issue.hint}" if issue.hint else ""
    return f"{where}{issue.severity.value}: {issue.message}{hint}"


def errors(result: LoadResult) -> list[str]:
    return [render(issue) for issue in result.errors]


def warnings(result: LoadResult) -> list[str]:
    return [render(issue) for issue in result.warnings]
