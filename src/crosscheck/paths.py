"""Where crosscheck keeps downloads and state on this machine.

Downloads (the Gerrit distribution) are shared by every sandbox and live in the
user's cache directory; they are never put inside a source checkout. Files holding
secrets are written with `write_private`.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Directory for reusable downloads: $CROSSCHECK_CACHE_DIR, else $XDG_CACHE_HOME/crosscheck."""
    explicit = os.environ.get("CROSSCHECK_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crosscheck"


def state_dir() -> Path:
    """Directory for mutable state: $CROSSCHECK_STATE_DIR, else $XDG_STATE_HOME/crosscheck."""
    explicit = os.environ.get("CROSSCHECK_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "crosscheck"


def default_sandbox_dir() -> Path:
    """Where `crosscheck sandbox` keeps its Gerrit site, keys and credentials by default."""
    return state_dir() / "sandbox"


def default_config_paths() -> list[Path]:
    """$CROSSCHECK_CONFIG (paths separated by ':'), else ./crosscheck.d, else ./crosscheck.yaml."""
    explicit = os.environ.get("CROSSCHECK_CONFIG")
    if explicit:
        return [Path(part).expanduser() for part in explicit.split(":") if part]
    directory = Path("crosscheck.d")
    return [directory if directory.is_dir() else Path("crosscheck.yaml")]


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, without a moment where others could."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
