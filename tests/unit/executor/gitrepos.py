"""Local git repositories standing in for Gerrit's projects in unit tests.

An "upstream" directory holds bare repositories at `<root>/<project>`, so the
executor fetches them with a `file://` URL exactly as it fetches Gerrit's
`http://.../<project>`. Changes are pushed to `refs/changes/NN/N/P` as Gerrit stores them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from crosscheck.executor.git import git_environment
from crosscheck.model.build import change_ref


def git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=git_environment({"init.defaultBranch": "master"}),
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


class Upstream:
    """Bare repositories under `root`, and a scratch clone per project to commit in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()

    def create(self, project: str, files: Mapping[str, str], branch: str = "master") -> str:
        bare = self.root / project
        bare.mkdir(parents=True)
        git(bare, "init", "--quiet", "--bare", f"--initial-branch={branch}")
        work = self._work(project)
        git(work.parent, "clone", "--quiet", str(bare), work.name)
        return self.commit(project, files, "initial", branch=branch, start=None)

    def commit(
        self,
        project: str,
        files: Mapping[str, str],
        message: str,
        *,
        branch: str = "master",
        start: str | None = "branch",
        push_to: str | None = None,
    ) -> str:
        """Commit `files` on `start` (default: the branch tip); push to `push_to` or the branch."""
        work = self._work(project)
        if start == "branch":  # a new branch starts from master
            exists = git(work, "ls-remote", "origin", f"refs/heads/{branch}")
            git(work, "fetch", "--quiet", "origin", branch if exists else "master")
            git(work, "checkout", "--quiet", "-B", "work", "FETCH_HEAD")
        elif start is not None:
            git(work, "fetch", "--quiet", "origin", start)
            git(work, "checkout", "--quiet", "-B", "work", "FETCH_HEAD")
        for name, content in files.items():
            path = work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git(work, "add", "--all")
        git(work, "commit", "--quiet", "--allow-empty", "-m", message)
        git(work, "push", "--quiet", "origin", f"HEAD:{push_to or f'refs/heads/{branch}'}")
        return git(work, "rev-parse", "HEAD")

    def change(
        self,
        project: str,
        number: int,
        patchset: int,
        files: Mapping[str, str],
        message: str,
        *,
        branch: str = "master",
        start: str | None = "branch",
    ) -> str:
        """A patchset pushed where Gerrit keeps it; its revision."""
        ref = change_ref(number, patchset)
        return self.commit(project, files, message, branch=branch, start=start, push_to=ref)

    def tag(self, project: str, name: str) -> None:
        git(self.root / project, "tag", name, "master")

    def _work(self, project: str) -> Path:
        work = self.root.parent / "upstream-work" / project
        work.parent.mkdir(parents=True, exist_ok=True)
        return work
