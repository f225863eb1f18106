"""How a local build's steps are confined: the bubblewrap command line, and the choice
of `confine` on a host with or without a working bubblewrap."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.executor.confinement import (
    REAPER,
    SANDBOX_STATE,
    Confinement,
    ConfinementError,
    ConfineMode,
    confinement,
)
from crosscheck.executor.settings import local_confinement, resolve
from crosscheck.model.config import Config, ExecutorSettings
from crosscheck.sandbox.gerrit.state import STATE_FILE


def mounts(argv: list[str]) -> list[tuple[str, ...]]:
    """The mount options in order, each with its arguments."""
    arity = {
        "--ro-bind": 2, "--bind": 2, "--tmpfs": 1, "--dev": 1, "--proc": 1, "--remount-ro": 1
    }  # fmt: skip
    found, index = [], 0
    while argv[index] != "--":
        option = argv[index]
        if option in arity:
            found.append((option, *argv[index + 1 : index + 1 + arity[option]]))
            index += 1 + arity[option]
        else:
            index += 1
    return found


def test_the_step_runs_in_its_work_directory_after_every_other_mount(tmp_path: Path) -> None:
    work = tmp_path / "work" / "b1-x"
    wrapped = Confinement("/usr/bin/bwrap").wrap(["bash", "-c", "make"], work, work / "src")
    assert wrapped[0] == "/usr/bin/bwrap"
    assert {"--unshare-pid", "--die-with-parent"} <= set(wrapped)
    assert wrapped[wrapped.index("--cap-drop") + 1] == "ALL"  # serve as root stays root
    # The step under the shell that gives its processes their grace when stopped.
    inside = wrapped[wrapped.index("--") + 1 :]
    assert inside == ["bash", "-c", REAPER, "crosscheck-step", "bash", "-c", "make"]
    assert wrapped[wrapped.index("--chdir") + 1] == str(work / "src")
    assert mounts(wrapped) == [
        ("--ro-bind", "/", "/"),
        ("--dev", "/dev"),
        ("--proc", "/proc"),
        ("--bind", str(work / "tmp"), "/tmp"),  # noqa: S108 - on disk, its own
        ("--bind", str(work / "shm"), "/dev/shm"),  # noqa: S108 - on disk, its own
        ("--bind", str(work), str(work)),
        ("--remount-ro", "/dev"),  # a tmpfs: memory
    ]


def test_hidden_directories_are_emptied_once_and_the_git_cache_read_again(
    tmp_path: Path, private: Path
) -> None:
    """Directories under /tmp are already out of sight; one inside another needs no
    tmpfs of its own; the git cache inside a hidden one is bound back, read-only."""
    base = private
    state, logs, git = base / "state", base / "state" / "logs", base / "state" / "git"
    for directory in (state, logs, git, tmp_path / "work"):
        directory.mkdir(parents=True, exist_ok=True)
    secret = base / "password"
    secret.write_text("s3cr3t\n")
    under_state = state / "token"
    under_state.write_text("t\n")
    confined = Confinement(
        "bwrap",
        hidden_dirs=(logs, state, tmp_path / "work", base / "absent"),
        hidden_files=(secret, under_state, base / "absent-file"),
        readable_dirs=(git, tmp_path / "not-made"),
    )
    found = mounts(confined.wrap(["true"], tmp_path / "work" / "b1", tmp_path))
    assert found[5:] == [
        ("--tmpfs", str(state)),
        ("--ro-bind", "/dev/null", str(secret)),
        ("--ro-bind", str(git), str(git)),
        ("--bind", str(tmp_path / "work" / "b1"), str(tmp_path / "work" / "b1")),
        ("--remount-ro", str(state)),  # nothing can be written into what is hidden
        ("--remount-ro", "/dev"),
    ]


def hidden_by(confined: Confinement, tmp_path: Path) -> tuple[list[str], list[str]]:
    """The directories emptied and the files blanked for a step."""
    found = mounts(confined.wrap(["true"], tmp_path / "b1", tmp_path))
    directories = [m[1] for m in found if m[0] == "--tmpfs"]
    return directories, [m[2] for m in found if m[:2] == ("--ro-bind", "/dev/null")]


def test_files_named_since_the_start_and_linked_secrets_are_hidden(
    tmp_path: Path, private: Path
) -> None:
    """A reload may name a new token file; a link's target is hidden where it is now."""
    (private / "v1").mkdir()
    (private / "v1" / "token").write_text("one\n")
    (private / "token").symlink_to("v1/token")
    named: list[Path] = []
    confined = Confinement(
        "bwrap", hidden_files=(private / "token",), live_files=lambda: list(named)
    )
    first = [str(private / "token"), str(private / "v1/token")]
    assert hidden_by(confined, tmp_path) == ([], first)
    (private / "v2").mkdir()
    (private / "v2" / "token").write_text("two\n")
    (private / "token").unlink()
    (private / "token").symlink_to("v2/token")
    (private / "admin.token").write_text("admin\n")
    named.append(private / "admin.token")
    assert hidden_by(confined, tmp_path) == (
        [],
        [str(private / "token"), str(private / "v2/token"), str(private / "admin.token")],
    )


def test_a_kubernetes_secret_volume_is_hidden_whole(tmp_path: Path, private: Path) -> None:
    """Its `..data` link may be swapped to a new version while a step runs, out of the
    reach of a mount on the file made when the step started."""
    (private / "..v1").mkdir()
    (private / "..v1" / "token").write_text("one\n")
    (private / "..data").symlink_to("..v1")
    (private / "token").symlink_to("..data/token")
    confined = Confinement("bwrap", hidden_files=(private / "token",))
    assert hidden_by(confined, tmp_path) == ([str(private.resolve())], [])


def test_the_sandbox_whose_secrets_a_connection_names_is_hidden_whole(
    tmp_path: Path, private: Path
) -> None:
    """Beside the CI account's password, a sandbox keeps its Gerrit admin's in
    sandbox.json: a serve started without CROSSCHECK_SANDBOX_DIR must hide it too."""
    (private / SANDBOX_STATE).write_text('{"admin": {"http_password": "x"}}\n')
    (private / "secrets").mkdir()
    (private / "secrets" / "ci_http_password").write_text("ci\n")
    confined = Confinement("bwrap", hidden_files=(private / "secrets" / "ci_http_password",))
    assert hidden_by(confined, tmp_path) == ([str(private.resolve())], [])
    assert SANDBOX_STATE == STATE_FILE


def test_none_is_never_confined() -> None:
    assert confinement(ConfineMode.NONE) is None


def test_auto_runs_unconfined_where_bubblewrap_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: None)
    assert confinement(ConfineMode.AUTO) is None


def test_bubblewrap_required_and_missing_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: None)
    with pytest.raises(ConfinementError) as raised:
        confinement(ConfineMode.BUBBLEWRAP)
    said = str(raised.value)
    assert said.startswith("executor confine: bubblewrap, but bwrap is not installed")
    assert "sudo apt-get install bubblewrap" in said
    assert "'confine: none'" in said


def test_a_bubblewrap_that_cannot_confine_here_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A container without user namespaces: bwrap is there, and fails."""
    fake = tmp_path / "bwrap"
    refusal = "bwrap: No permissions to creating new namespace"
    fake.write_text(f"#!/bin/sh\necho '{refusal}' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: str(fake))
    assert confinement(ConfineMode.AUTO) is None
    with pytest.raises(ConfinementError, match="No permissions to creating new namespace"):
        confinement(ConfineMode.BUBBLEWRAP)


def test_serves_ssh_agent_is_hidden_from_local_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SSH node or a connection without a key file logs in through serve's agent: a
    build that reached its socket would log in to the lab as the CI."""
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
    monkeypatch.setattr("crosscheck.executor.confinement.probe", lambda _: None)
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: "/bin/bwrap")
    settings = resolve(ExecutorSettings())
    confined = local_confinement(Config(), settings)
    assert confined is not None
    assert (tmp_path / "agent.sock").resolve() in confined.hidden_files


def test_the_sandbox_of_a_demo_serve_is_hidden_from_its_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`crosscheck sandbox demo` runs serve with a state directory inside the sandbox's,
    whose sandbox.json holds the Gerrit admin's password."""
    monkeypatch.setenv("CROSSCHECK_SANDBOX_DIR", str(tmp_path / "sandbox"))
    monkeypatch.setenv("CROSSCHECK_STATE_DIR", str(tmp_path / "sandbox" / "demo"))
    monkeypatch.setattr("crosscheck.executor.confinement.probe", lambda _: None)
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: "/bin/bwrap")
    confined = local_confinement(Config(), resolve(ExecutorSettings()))
    assert confined is not None
    assert (tmp_path / "sandbox").resolve() in confined.hidden_dirs


def test_the_services_home_is_hidden_but_never_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its ~/.ssh and its tools' tokens are not named by the configuration; a user
    without a home of its own (`/`) must not hide the system."""
    monkeypatch.setattr("crosscheck.executor.confinement.probe", lambda _: None)
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: "/bin/bwrap")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    confined = local_confinement(Config(), resolve(ExecutorSettings()))
    assert confined is not None
    assert (tmp_path / "home").resolve() in confined.hidden_dirs
    monkeypatch.setenv("HOME", "/")
    confined = local_confinement(Config(), resolve(ExecutorSettings()))
    assert confined is not None
    assert Path("/") not in confined.hidden_dirs
