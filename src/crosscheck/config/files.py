"""Finding configuration files and splitting them into elements.

A configuration is one file or a directory of files. A directory's `*.yaml` and
`*.yml` files (recursively, hidden ones skipped) are merged in the sorted order of
their paths, so the result never depends on the file system's listing order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosscheck.config.issues import IssueList, Position, did_you_mean
from crosscheck.config.schema import ELEMENTS
from crosscheck.config.yaml_source import Node, NodeList, load_yaml

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Element:
    """One top-level item: `- job: {...}`."""

    kind: str
    body: Any
    position: Position  # of the element's keyword (`job:`), for errors about the whole

    @property
    def directory(self) -> Path:
        return self.position.path.parent


def discover(paths: Sequence[Path], issues: IssueList) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(_directory_files(path, issues))
        elif path.is_file():
            files.append(path)
        elif path.exists():
            issues.error(f"{path}: not a regular file or directory")
        elif path.is_symlink():
            issues.error(f"{path}: a broken link")
        else:
            issues.error(f"{path}: no such file or directory")
    return list(dict.fromkeys(files))


def _directory_files(directory: Path, issues: IssueList) -> list[Path]:
    found: list[Path] = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if path.suffix not in SUFFIXES or any(p.startswith(".") for p in relative.parts):
            continue
        if path.is_file():
            found.append(path)
        elif path.is_symlink() and not path.exists():
            issues.error(f"{path}: a broken link")
    if not found:
        issues.error(f"{directory}: no .yaml or .yml files in this directory")
    return sorted(found, key=lambda f: f.relative_to(directory).as_posix())


def read_elements(files: Sequence[Path], issues: IssueList) -> list[Element]:
    elements: list[Element] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            issues.error(f"cannot read the file: {error}", Position(path, 1, 1))
            continue
        document = load_yaml(text, path, issues)
        if document is None:
            continue  # empty, or a syntax error already reported
        elements.extend(_split(document, path, issues))
    return elements


#: Keys of the results pages' own settings file (config/pages.py), often put beside the
#: configuration, whose directory would read it as configuration.
_PAGES_KEYS = frozenset({"gerrit-url", "gerrit-origins", "expected-cis", "rerun-comments"})


def _split(document: Any, path: Path, issues: IssueList) -> list[Element]:
    if not isinstance(document, NodeList):
        pages = isinstance(document, dict) and bool(_PAGES_KEYS & set(document))
        issues.error(
            "a configuration file is a list of elements"
            + (" (this looks like the results pages' settings file)" if pages else ""),
            getattr(document, "start", Position(path, 1, 1)),
            "keep the pages' settings outside the configuration directory and name it in "
            "'- results: {pages: ../pages.yaml}'"
            if pages
            else "start each element with '- ', e.g. '- job:' or '- pipeline:'",
        )
        return []
    elements = []
    for index, item in enumerate(document):
        position = document.position_of(index)
        if not isinstance(item, Node) or len(item) != 1:
            issues.error(
                "each list item must be one element such as '- job:' with its keys "
                "indented below it",
                position,
                "elements: " + ", ".join(ELEMENTS),
            )
            continue
        kind = next(iter(item))
        if kind not in ELEMENTS:
            issues.error(
                f"unknown element '{kind}'",
                item.key_at[kind],
                did_you_mean(str(kind), ELEMENTS) or "elements: " + ", ".join(ELEMENTS),
            )
            continue
        elements.append(Element(str(kind), item[kind], item.key_at[kind]))
    return elements
