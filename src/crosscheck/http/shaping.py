"""What shapes a kept answer beside its data: crosscheck's own code and templates.

A kept answer's entity tag names the data it was made from and what shaped it. The
version alone stays the same between two builds of one release (a template fixed, a
development install updated), and a browser holding a page revalidates it on every
read: with the version alone, a deploy that changes how a page is made would keep
confirming the old copy with a 304 until the change got a new result. So the tag also
names a digest of the code and templates that make answers.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import crosscheck
from crosscheck import __version__

#: The packages whose code or templates shape the kept answers (pages, Checks tab).
SHAPING = ("model", "results", "web")
#: Their files that do: code, templates, pictures.
SUFFIXES = frozenset({".py", ".html", ".svg"})


@cache
def code_digest() -> str:
    """This process's `digest_of` its own code (read once: about 70 files, 5 ms)."""
    return digest_of(Path(crosscheck.__file__).parent, __version__)


def digest_of(root: Path, version: str) -> str:
    """A few characters that change with `version` and with any file of `SHAPING`
    under `root` (its name or its bytes)."""
    digest = hashlib.blake2b(version.encode(), digest_size=6)
    for package in SHAPING:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()
