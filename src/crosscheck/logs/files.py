"""Finding a file under the logs root from a URL path, and what to call its content."""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TEXT = "text/plain; charset=utf-8"
#: Shown as text: logs and the usual configuration and script files of a build.
TEXT_SUFFIXES = frozenset(
    {
        "",
        ".log",
        ".txt",
        ".out",
        ".err",
        ".conf",
        ".cfg",
        ".ini",
        ".yaml",
        ".yml",
        ".sh",
        ".py",
        ".md",
        ".rst",
        ".csv",
        ".diff",
        ".patch",
        ".xml",
        ".j2",
        ".toml",
        ".env",
    }
)
#: Compressed archives: downloaded as they are, never decompressed on the way.
ARCHIVES = (".tar.gz", ".tgz")


def resolve(root: Path, relative: str) -> Path | None:
    """The file or directory `relative` names inside `root`; None if it leaves `root`.

    A symbolic link is followed only when it stays inside the root.
    """
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or "\0" in relative:
        return None
    real_root = root.resolve()
    candidate = Path(os.path.realpath(real_root.joinpath(*path.parts)))
    if candidate != real_root and not candidate.is_relative_to(real_root):
        return None
    return candidate if candidate.exists() else None


def inside(root: Path, path: Path) -> bool:
    real_root = root.resolve()
    real = Path(os.path.realpath(path))
    return real == real_root or real.is_relative_to(real_root)


@dataclass(frozen=True)
class ContentType:
    media_type: str
    #: `gzip` when the file is gzip-compressed text or the like, served as what it holds.
    encoding: str | None = None


def content_type(name: str) -> ContentType:
    lowered = name.lower()
    if lowered.endswith(ARCHIVES):
        return ContentType("application/gzip")
    if lowered.endswith(".gz"):
        return ContentType(_plain_type(name[: -len(".gz")]), "gzip")
    return ContentType(_plain_type(name))


def _plain_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return TEXT
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed is None:
        return "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed
