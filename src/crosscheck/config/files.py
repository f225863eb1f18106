"""Finding configuration files and splitting them into elements.

A configuration is one file or a directory of files. A directory's `*.yaml` and
`*.yml` files (recursively, hidden ones skipped) are merged in the sorted order of
their paths, so the result never depends on the file system's listing order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass
class ReadElements:
    elements: list[Element] = field(default_factory=list)
    #: Files of which some item could not be read as far as its name (a YAML syntax
    #: error, an item that is no mapping): a name that no element read defines may be
    #: theirs.
    unreadable: list[Path] = field(default_factory=list)
    #: The names of items that are no element (`- jbo: {name: x}`): each may be what
    #: another element refers to.
    lost_names: set[str] = field(default_factory=set)


def read_elements(files: Sequence[Path], issues: IssueList) -> ReadElements:
    read = ReadElements()
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            issues.error(f"cannot read the file: {error}", Position(path, 1, 1))
            read.unreadable.append(path)
            continue
        reported = len(issues.items)
        document = load_yaml(text, path, issues)
        if document is None:
            if len(issues.items) > reported:  # a syntax error, not an empty file
                read.unreadable.append(path)
            continue
        _split(document, path, issues, read)
    return read


#: Keys of the results pages' own settings file (config/pages.py), often put beside the
#: configuration, whose directory would read it as configuration.
_PAGES_KEYS = frozenset({"gerrit-url", "gerrit-origins", "expected-cis", "rerun-comments"})


def _split(document: Any, path: Path, issues: IssueList, read: ReadElements) -> None:
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
        read.unreadable.append(path)
        return
    for index, item in enumerate(document):
        position = document.position_of(index)
        if not isinstance(item, Node) or len(item) != 1:
            issues.error(
                "each list item must be one element such as '- job:' with its keys "
                "indented below it",
                position,
                "elements: " + ", ".join(ELEMENTS),
            )
            _lose(item, path, read)
            continue
        kind = next(iter(item))
        if kind not in ELEMENTS:
            issues.error(
                f"unknown element '{kind}'",
                item.key_at[kind],
                did_you_mean(str(kind), ELEMENTS) or "elements: " + ", ".join(ELEMENTS),
            )
            _lose(item, path, read)
            continue
        read.elements.append(Element(str(kind), item[kind], item.key_at[kind]))


def _lose(item: Any, path: Path, read: ReadElements) -> None:
    """Keep what a lost item may define: its names, or else that its file is unreadable."""
    names = [
        body["name"]
        for body in (item.values() if isinstance(item, dict) else ())
        if isinstance(body, dict) and isinstance(body.get("name"), str)
    ]
    if names:
        read.lost_names.update(names)
    elif path not in read.unreadable:
        read.unreadable.append(path)
