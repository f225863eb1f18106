"""What a build leaves in its log directory besides the console: build.json, artifacts."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BUILD_JSON = "build.json"
CONSOLE_LOG = "console.log"
ARTIFACTS = "artifacts"
#: What a build may leave as artifacts, in all: 1 GiB.
MAX_ARTIFACT_BYTES = 1 << 30
_CHUNK_SIZE = 1 << 20


def write_build_json(log_dir: Path, data: Mapping[str, Any]) -> None:
    """Replace build.json atomically: a reader sees the old or the new, never half."""
    target = log_dir / BUILD_JSON
    temporary = target.with_name(BUILD_JSON + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def collect_artifacts(
    source: Path, log_dir: Path, budget: int = MAX_ARTIFACT_BYTES
) -> tuple[int, int]:
    """Copy what the job left in `source` into `<log_dir>/artifacts/`, up to `budget`
    bytes in all; the number of files copied, and of files left out for the budget.

    Symbolic links are skipped: a job could otherwise publish any file the service
    can read (a link to a secret) as an artifact. The budget keeps a build from filling
    the disk that holds the logs and the store (a sparse file takes no room in the
    work directory, all its length in a copy).
    """
    if not source.is_dir() or source.is_symlink():
        return 0, 0
    target = log_dir / ARTIFACTS
    copied = left_out = 0
    for directory, subdirectories, files in os.walk(source):
        here = Path(directory)
        subdirectories[:] = [d for d in subdirectories if not (here / d).is_symlink()]
        destination = target / here.relative_to(source)
        try:
            destination.mkdir(parents=True, exist_ok=True)
        except OSError:  # a name too long under the logs root: what the build made
            left_out += len(files)
            subdirectories[:] = []
            continue
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue  # links, sockets, fifos
            try:
                written = _copy_no_follow(path, destination / name, budget)
            except OSError:  # unreadable, or a name too long: left out, not a crash
                written = None
            if written is None:
                left_out += 1
            elif written >= 0:
                copied += 1
                budget -= written
    return copied, left_out


def _copy_no_follow(source: Path, target: Path, budget: int) -> int | None:
    """The bytes copied; -1 when the file is gone or became a link since it was listed;
    None when it is longer than `budget` (nothing of it is kept)."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return -1
    written = 0
    with os.fdopen(fd, "rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(min(_CHUNK_SIZE, budget - written + 1)):
            written += len(chunk)
            if written > budget:
                break
            writer.write(chunk)
    if written > budget:
        target.unlink()
        return None
    return written
