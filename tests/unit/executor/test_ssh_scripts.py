"""The shell crosscheck sends to a node: every value quoted, run here by a real sh."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path, PurePosixPath

import pytest

from crosscheck.executor.ssh import scripts


def sh(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def test_a_step_runs_with_exactly_its_environment_in_its_directory(tmp_path: Path) -> None:
    hostile = "$(touch pwned); `id`; 'quote' \"double\" \n newline"
    script = scripts.step(
        'printf "%s|%s|%s\\n" "$PWD" "$ODD" "${HOME:-none}"; exit 3',
        {"ODD": hostile, "PATH": "/usr/bin:/bin"},
        PurePosixPath(tmp_path),
    )
    done = sh(script)
    assert done.returncode == 3
    first, *rest = done.stdout.split("\n", 1)
    assert first.startswith(scripts.PGID_MARK)
    assert int(first.removeprefix(scripts.PGID_MARK)) > 0
    assert rest[0] == f"{tmp_path}|{hostile}|none\n"
    assert not (tmp_path / "pwned").exists()


def test_reap_stops_every_process_carrying_the_marker_and_no_other() -> None:
    env = {**os.environ, "CROSSCHECK_BUILD_ID": "reapme01"}
    # One in its own session, as a daemon a build started would be.
    marked = subprocess.Popen(["setsid", "sleep", "60"], env=env)
    other = subprocess.Popen(["sleep", "60"], env={**env, "CROSSCHECK_BUILD_ID": "reapme011"})
    try:
        time.sleep(0.2)
        done = sh(scripts.reap(["reapme01"], 1.0))
        assert done.stdout.splitlines()[0] == "1"
        assert marked.wait(5) != 0
        assert other.poll() is None
    finally:
        for process in (other, marked):
            process.kill()
            process.wait(5)


def test_a_build_id_that_is_not_a_plain_word_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a build id"):
        scripts.reap(["x|.*"], 1.0)


def test_clean_removes_a_read_only_work_directory(tmp_path: Path) -> None:
    work = tmp_path / "b1"
    (work / "ro").mkdir(parents=True)
    (work / "ro" / "f").write_text("x")
    (work / "ro").chmod(0o500)
    done = sh(scripts.clean(["b1"], [PurePosixPath(work)], 1.0))
    assert done.returncode == 0, done.stderr
    assert not work.exists()
