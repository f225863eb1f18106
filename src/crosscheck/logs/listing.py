"""A directory of the logs root as data, as an HTML page, and as JSON."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crosscheck.logs.files import inside

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def _templates() -> Environment:
    """Loaded with the first listing: an idle serve holds no Jinja2."""
    from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: PLC0415

    return Environment(
        loader=PackageLoader("crosscheck.logs", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


@dataclass(frozen=True)
class Entry:
    name: str
    #: Relative URL of the entry from the listing's own URL (quoted; '/' ends directories).
    href: str
    is_dir: bool
    size: int | None
    modified: str


def entries(root: Path, directory: Path) -> list[Entry]:
    """Directories first, then files, each by name; links leaving the root are left out."""
    found: list[Entry] = []
    with os.scandir(directory) as scan:
        items = list(scan)
    for item in items:
        path = Path(item.path)
        if item.is_symlink() and not inside(root, path):
            continue
        try:
            stat = path.stat()
        except OSError:
            continue  # removed while listed, or a broken link
        is_dir = item.is_dir()
        found.append(
            Entry(
                name=item.name,
                href=quote(item.name, safe="") + ("/" if is_dir else ""),
                is_dir=is_dir,
                size=None if is_dir else stat.st_size,
                modified=datetime.fromtimestamp(stat.st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            )
        )
    return sorted(found, key=lambda e: (not e.is_dir, e.name))


def as_json(relative: str, listed: list[Entry]) -> dict[str, Any]:
    return {"path": relative, "entries": [asdict(entry) for entry in listed]}


def as_html(relative: str, listed: list[Entry]) -> str:
    parts = [part for part in relative.split("/") if part]
    crumbs = [
        {"name": part, "href": "../" * (len(parts) - index - 1) or "./"}
        for index, part in enumerate(parts)
    ]
    home = "../" * len(parts) or "./"
    return (
        _templates()
        .get_template("listing.html")
        .render(relative=relative, crumbs=crumbs, home=home, entries=listed, has_parent=bool(parts))
    )
