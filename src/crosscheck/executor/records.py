"""What a build leaves in its log directory besides the console: build.json, artifacts."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BUILD_JSON = "build.json"
CONSOLE_LOG = "console.log"
ARTIFACTS = "artifacts"


def write_build_json(log_dir: Path, data: Mapping[str, Any]) -> None:
    """Replace build.json atomically: a reader sees the old or the new, never half."""
    target = log_dir / BUILD_JSON
    temporary = target.with_name(BUILD_JSON + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def collect_artifacts(source: Path, log_dir: Path) -> int:
    """Copy what the job left in `source` into `<log_dir>/artifacts/`; the number of files.

    Symbolic links are skipped: a job could otherwise publish any file the service
    can read (a link to a secret) as an artifact.
    """
    if not source.is_dir() or source.is_symlink():
        return 0
    target = log_dir / ARTIFACTS
    copied = 0
    for directory, subdirectories, files in os.walk(source):
        here = Path(directory)
        subdirectories[:] = [d for d in subdirectories if not (here / d).is_symlink()]
        destination = target / here.relative_to(source)
        destination.mkdir(parents=True, exist_ok=True)
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue  # links, sockets, fifos
            if _copy_no_follow(path, destination / name):
                copied += 1
    return copied


def _copy_no_follow(source: Path, target: Path) -> bool:
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False  # became a link, or vanished, since it was listed
    with os.fdopen(fd, "rb") as reader, target.open("wb") as writer:
        shutil.copyfileobj(reader, writer)
    return True
