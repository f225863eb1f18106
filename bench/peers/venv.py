"""The peer CI installed from PyPI into a virtualenv of the bench's own.

The peer is no dependency of crosscheck: it lives outside the project's environment,
and a venv already holding it is reused as it is.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: What `pip install` gets; the current 4.x release when the venv is created.
BUILDBOT_REQUIREMENTS = ("buildbot>=4,<5", "buildbot-worker>=4,<5")
DEFAULT_VENV = Path.home() / ".cache" / "crosscheck-bench" / "buildbot-4"


@dataclass(frozen=True)
class PeerVenv:
    path: Path

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def version(self, package: str) -> str:
        """The installed version of `package`, as pip's metadata says."""
        script = f"import importlib.metadata as m; print(m.version({package!r}))"
        return subprocess.run(
            [str(self.bin("python")), "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()


def buildbot_venv(path: Path | None = None) -> PeerVenv:
    """A venv with Buildbot's master and worker; created and installed when missing."""
    venv = PeerVenv(path or DEFAULT_VENV)
    if venv.bin("buildbot").exists() and venv.bin("buildbot-worker").exists():
        return venv
    venv.path.parent.mkdir(parents=True, exist_ok=True)
    # The bench's own interpreter: a venv made from a venv is based on the same Python.
    subprocess.run([sys.executable, "-m", "venv", str(venv.path)], check=True)
    subprocess.run(
        [str(venv.bin("python")), "-m", "pip", "install", "--quiet", *BUILDBOT_REQUIREMENTS],
        check=True,
    )
    return venv
