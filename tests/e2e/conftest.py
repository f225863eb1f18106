"""A real sandbox Gerrit for the whole test session, brought up through the CLI.

When Java 17 or Maven is missing these tests fail with the install command;
they are never skipped. Set CROSSCHECK_TEST_SANDBOX_DIR to reuse one sandbox
across runs while developing (it is then left running).

Tests of two Gerrits at once (two_gerrits.py) add a second sandbox, brought up only
when one of them runs; CROSSCHECK_TEST_SECOND_SANDBOX_DIR reuses one the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosscheck.sandbox.gerrit import SandboxState
from crosscheck.sandbox.prerequisites import JAVA, JAVAC, MAVEN, require_all


def crosscheck(state_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real `crosscheck sandbox` command, as a user would."""
    command = [sys.executable, "-m", "crosscheck", "sandbox", "--state-dir", str(state_dir), *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if check and completed.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {completed.returncode}:\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return completed


def running_sandbox(state_dir: Path, reused: bool) -> Iterator[Path]:
    """A sandbox up for the session, and down after it unless it is reused."""
    crosscheck(state_dir, "up", "--project", "sandbox/second")
    yield state_dir
    if not reused:
        crosscheck(state_dir, "down")
        status = crosscheck(state_dir, "status", check=False)
        assert status.returncode == 3, status.stdout


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_all((JAVA, JAVAC, MAVEN))  # fails loudly with the apt-get line, never skips
    reused = os.environ.get("CROSSCHECK_TEST_SANDBOX_DIR")
    state_dir = Path(reused) if reused else tmp_path_factory.mktemp("sandbox")
    yield from running_sandbox(state_dir, bool(reused))


@pytest.fixture
def sandbox(sandbox_dir: Path) -> SandboxState:
    return SandboxState.load(sandbox_dir)


@pytest.fixture(scope="session")
def second_sandbox_dir(
    sandbox_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """Another sandbox Gerrit beside the first, on ports of its own (chosen free)."""
    reused = os.environ.get("CROSSCHECK_TEST_SECOND_SANDBOX_DIR")
    state_dir = Path(reused) if reused else tmp_path_factory.mktemp("second-sandbox")
    if state_dir.resolve() == sandbox_dir.resolve():
        pytest.fail("CROSSCHECK_TEST_SECOND_SANDBOX_DIR names the first sandbox: give another")
    yield from running_sandbox(state_dir, bool(reused))


@pytest.fixture
def second_sandbox(second_sandbox_dir: Path) -> SandboxState:
    return SandboxState.load(second_sandbox_dir)
