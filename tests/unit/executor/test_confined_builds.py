"""Builds confined by a real bubblewrap, tried as an attacker's change would: the build
passes as before, and cannot plant a mirror's ref, read the service's secrets, state,
environment or other builds, or leave a process behind."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from crosscheck.executor import Executor, LocalNodeProvider, MirrorCache
from crosscheck.executor.confinement import Confinement, ConfineMode, confinement
from crosscheck.executor.settings import local_confinement, resolve
from crosscheck.model.build import BuildOutcome, BuildResult
from crosscheck.model.config import Config, ExecutorSettings
from tests.unit.executor.conftest import PROJECT, MakeRequest, change_event
from tests.unit.executor.gitrepos import Upstream, git


@pytest.fixture
def confined(tmp_path: Path, private: Path) -> Confinement:
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (scripts/setup installs it: bubblewrap)")
    (private / "state").mkdir()
    (private / "state" / "crosscheck.db").write_text("the store\n")
    (private / "password").write_text("s3cr3t-password\n")
    agent = socket.socket(socket.AF_UNIX)  # as serve's SSH agent, which logs in to the lab
    agent.bind(str(private / "agent.sock"))
    agent.close()
    found = confinement(
        ConfineMode.BUBBLEWRAP,
        hidden_dirs=[private / "state", tmp_path / "logs", tmp_path / "work"],
        hidden_files=[private / "password", private / "agent.sock"],
        readable_dirs=[tmp_path / "git"],
    )
    assert found is not None
    return found


@pytest.fixture
def executor(tmp_path: Path, confined: Confinement) -> Executor:
    provider = LocalNodeProvider(tmp_path / "work", slots=2, kill_grace=1.0, confinement=confined)
    return Executor(provider, tmp_path / "logs", MirrorCache(tmp_path / "git"))


def console(executor: Executor, outcome: BuildOutcome) -> str:
    return (executor.logs_root / outcome.log_url / "console.log").read_text()


async def test_a_confined_build_builds_as_before(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    revision = upstream.change(PROJECT, 7, 1, {"driver.py": "ok\n"}, "Fix")
    request = make_request(
        "test -f driver.py && git log -1 --format=%s",
        'echo made > "$CROSSCHECK_ARTIFACTS/out.txt"',
        "echo scratch > /tmp/scratch && cat /tmp/scratch && echo home > $HOME/.cfg",
        'test -f "$TMPDIR/scratch" && echo "/tmp is the work directory\'s"',
        'touch /dev/shm/segment && test -f "$CROSSCHECK_SRC_ROOT/../shm/segment" && echo on-disk',
        "touch /dev/filled 2>&1 || true",
        event=change_event(7, 1, revision),
    )
    outcome = await executor.run(request)
    text = console(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, text
    assert "Fix" in text
    assert "scratch" in text
    assert "| /tmp is the work directory's" in text  # on disk, not in memory
    assert "| on-disk" in text  # /dev/shm too
    assert "/dev/filled': Read-only file system" in text
    log_dir = executor.logs_root / outcome.log_url
    assert (log_dir / "artifacts" / "out.txt").read_text() == "made\n"


async def test_a_build_cannot_plant_a_ref_in_the_mirror_the_next_builds_clone(
    executor: Executor, upstream: Upstream, make_request: MakeRequest, tmp_path: Path
) -> None:
    revision = upstream.change(PROJECT, 8, 1, {"ci.sh": "echo owned\n"}, "Attack")
    mirrors = tmp_path / "git"
    attack = (
        f'mirror=$(dirname "$(find {mirrors} -name HEAD -path "*acme*" | head -1)"); '
        'echo "mirror: $mirror"; '
        'git push -f "$mirror" HEAD:refs/heads/master && echo PLANTED || echo REFUSED; '
        'touch "$mirror/refs/heads/planted"'
    )
    outcome = await executor.run(make_request(attack, event=change_event(8, 1, revision)))
    text = console(executor, outcome)
    assert "| REFUSED" in text, text
    assert "| PLANTED" not in text
    assert "Read-only file system" in text
    assert outcome.result is BuildResult.FAILURE  # the touch failed
    mirror = next(mirrors.rglob("HEAD")).parent
    assert git(mirror, "rev-parse", "refs/heads/master") == git(
        upstream.root / PROJECT, "rev-parse", "master"
    )


async def test_the_services_secrets_state_and_environment_are_out_of_sight(
    executor: Executor,
    upstream: Upstream,
    make_request: MakeRequest,
    private: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSCHECK_ADMIN_TOKEN", "admin-token-in-the-environment")
    revision = upstream.change(PROJECT, 9, 1, {"a": "b"}, "Look around")
    looks = [
        f"echo password=[$(cat {private / 'password'})]",
        f"test -S {private / 'agent.sock'} && echo agent-socket || echo no-agent-socket",
        f"echo state=[$(ls -A {private / 'state'})]",
        f"touch {private / 'state' / 'filled'} 2>&1 || true",
        f"echo logs=[$(ls -A {executor.logs_root})]",
        f"echo others=[$(ls -A {executor.logs_root.parent / 'work'} | wc -l)]",
        f"cat /proc/{os.getpid()}/environ 2>/dev/null && echo SAW-SERVICE || echo no-service",
        "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c admin-token || true",
        "echo processes=[$(ls /proc | grep -c '^[0-9]')]",
        "mount -o remount,rw / 2>&1 || true",
        "touch /usr/planted 2>&1 || true",
    ]
    outcome = await executor.run(make_request(*looks, event=change_event(9, 1, revision)))
    text = console(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, text
    assert "password=[]" in text
    assert "| no-agent-socket" in text
    assert "s3cr3t" not in text
    assert "state=[]" in text
    assert "filled': Read-only file system" in text  # not a tmpfs to fill memory with
    assert "logs=[]" in text
    assert "others=[1]" in text  # its own work directory alone
    assert "no-service" in text
    assert "admin-token-in-the-environment" not in text
    assert "\n0\n" in text.replace(" | ", "\n").replace("\r", "")
    (processes,) = re.findall(r"\| processes=\[(\d+)\]", text)
    assert int(processes) < 10, text
    assert "Read-only file system" in text
    assert not Path("/usr/planted").exists()


async def test_nothing_a_build_started_outlives_it(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    """A step's `setsid` escapes its process group: unconfined, the build's marker in its
    environment finds it; confined, its PID namespace ends with the step."""
    marker = f"{os.getpid() % 1000}.{id(executor) % 997}"
    revision = upstream.change(PROJECT, 10, 1, {"a": "b"}, "Linger")
    steps = [f"setsid sleep 300.{marker} > /dev/null 2>&1 < /dev/null &", "nohup sleep 301 &"]
    outcome = await executor.run(make_request(*steps, event=change_event(10, 1, revision)))
    assert outcome.result is BuildResult.SUCCESS, console(executor, outcome)
    left = subprocess.run(["pgrep", "-f", f"sleep 300.{marker}"], capture_output=True, check=False)
    assert left.stdout == b""


async def test_a_stopped_build_gets_its_grace_to_clean_up(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    """bubblewrap dies of a SIGTERM and takes the step with it at once: it is spared,
    so the step's own trap runs within `kill_grace`, as unconfined."""
    revision = upstream.change(PROJECT, 11, 1, {"a": "b"}, "Slow")
    step = "trap 'echo cleaning up; sleep 0.3; echo cleaned up; exit 3' TERM; sleep 30 & wait"
    request = make_request(step, event=change_event(11, 1, revision), timeout=1)
    outcome = await executor.run(request)
    text = console(executor, outcome)
    assert outcome.result is BuildResult.TIMED_OUT, text
    assert "| cleaned up" in text


async def test_a_child_that_traps_sigterm_gets_its_grace_too(
    executor: Executor, upstream: Upstream, make_request: MakeRequest
) -> None:
    """Most steps run something that runs the rest (`bash ci.sh`, make, tox): bubblewrap
    ends the whole namespace when the step's own shell ends, which a SIGTERM does at
    once; the child's clean-up must still run."""
    trap = "trap 'echo cleaning up; sleep 0.3; echo cleaned up; exit 3' TERM; sleep 30 & wait\n"
    revision = upstream.change(PROJECT, 12, 1, {"trap.sh": trap}, "Child")
    step = "if [ -f trap.sh ]; then bash trap.sh; fi"
    outcome = await executor.run(make_request(step, event=change_event(12, 1, revision), timeout=1))
    text = console(executor, outcome)
    assert outcome.result is BuildResult.TIMED_OUT, text
    assert "| cleaned up" in text


async def test_a_step_that_swaps_its_tmp_for_a_link_does_not_reach_through_it_next_step(
    executor: Executor,
    upstream: Upstream,
    make_request: MakeRequest,
    private: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """bubblewrap follows a link where it binds from: a step that replaced its `tmp/`
    and `shm/` with links to the service's directories would have them, writable, as
    /tmp and /dev/shm in the next step."""
    state = private / "state"
    revision = upstream.change(PROJECT, 13, 1, {"a": "b"}, "Swap")
    request = make_request(
        'W=$(dirname "$CROSSCHECK_ARTIFACTS"); '
        f'mv "$W/tmp" "$W/was-tmp" && ln -s {state} "$W/tmp" && '
        f'mv "$W/shm" "$W/was-shm" && ln -s {private} "$W/shm"',
        "cat /tmp/crosscheck.db || true; cat /dev/shm/password || true; "
        "touch /tmp/PWNED /dev/shm/PWNED; ls -A /tmp /dev/shm",
        event=change_event(13, 1, revision),
    )
    outcome = await executor.run(request)
    text = console(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, text
    assert "the store" not in text
    assert "s3cr3t-password" not in text
    assert not (state / "PWNED").exists()
    assert not (private / "PWNED").exists()
    assert "--- tmp/ was not a directory (a link?): made anew for this step" in text
    assert "--- shm/ was not a directory (a link?): made anew for this step" in text
    assert any("a step replaced tmp/" in r.getMessage() for r in caplog.records)


async def test_the_services_home_is_out_of_sight_but_its_git_cache(
    tmp_path: Path,
    upstream: Upstream,
    make_request: MakeRequest,
    private: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key in ~/.ssh that no configuration names, beside the git cache under ~/.cache."""
    home = private / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CROSSCHECK_STATE_DIR", str(tmp_path / "state"))
    settings = resolve(
        ExecutorSettings(
            work_root=tmp_path / "work", logs_root=tmp_path / "logs", git_cache=home / "git"
        )
    )
    confined = local_confinement(Config(), settings)
    assert confined is not None
    provider = LocalNodeProvider(settings.work_root, 1, 1.0, confinement=confined)
    executor = Executor(provider, settings.logs_root, MirrorCache(settings.git_cache))
    revision = upstream.change(PROJECT, 14, 1, {"a": "b"}, "Look home")
    request = make_request(
        f"cat {home}/.ssh/id_ed25519 || echo no-key",
        f"ls {home}/git >/dev/null && echo cache-read",
        event=change_event(14, 1, revision),
    )
    outcome = await executor.run(request)
    text = console(executor, outcome)
    assert outcome.result is BuildResult.SUCCESS, text
    assert "PRIVATE KEY" not in text
    assert "| no-key" in text
    assert "| cache-read" in text
