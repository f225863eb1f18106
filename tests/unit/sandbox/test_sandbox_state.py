"""Sandbox state on disk, the known_hosts file and the connection config."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from crosscheck.paths import default_sandbox_dir
from crosscheck.sandbox.errors import SandboxError, SandboxNotInitializedError
from crosscheck.sandbox.gerrit import SandboxStatus
from crosscheck.sandbox.gerrit.manager import _refuse_port_change, connection_config, info
from crosscheck.sandbox.gerrit.process import running_pid
from crosscheck.sandbox.gerrit.push import git_reason
from crosscheck.sandbox.gerrit.site import (
    ensure_key,
    free_port,
    port_in_use,
    write_known_hosts,
)
from crosscheck.sandbox.gerrit.state import (
    SandboxState,
    check_project_name,
    sandbox_command,
)

from .factories import make_state


def test_state_round_trips_and_is_private(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    state.save()
    loaded = SandboxState.load(tmp_path)
    assert loaded == state
    assert loaded.admin.http_password != loaded.ci.http_password
    assert len(loaded.ci.http_password) >= 24
    mode = stat.S_IMODE((tmp_path / "sandbox.json").stat().st_mode)
    assert mode == 0o600


def test_loading_a_missing_sandbox_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(
        SandboxNotInitializedError, match=r"crosscheck sandbox --state-dir .*nowhere up"
    ):
        SandboxState.load(tmp_path / "nowhere")


def test_known_hosts_lists_every_host_key_for_the_ssh_port(tmp_path: Path) -> None:
    state = make_state(tmp_path, ssh_port=29999)
    etc = state.site_dir / "etc"
    etc.mkdir(parents=True)
    (etc / "ssh_host_ed25519_key.pub").write_text("ssh-ed25519 AAAAED root@host\n")
    (etc / "ssh_host_rsa_key.pub").write_text("ssh-rsa AAAARSA root@host\n")
    write_known_hosts(state)
    assert state.known_hosts.read_text().splitlines() == [
        "[127.0.0.1]:29999 ssh-ed25519 AAAAED",
        "[127.0.0.1]:29999 ssh-rsa AAAARSA",
    ]


def test_known_hosts_refuses_a_site_without_host_keys(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    (state.site_dir / "etc").mkdir(parents=True)
    with pytest.raises(SandboxError, match="no SSH host keys"):
        write_known_hosts(state)


def test_keys_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "ci_ed25519"
    public = ensure_key(key)
    assert public.startswith("ssh-ed25519 ")
    assert ensure_key(key) == public
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_free_port_is_free() -> None:
    assert not port_in_use(free_port())


def test_connection_config_points_at_secret_files_never_secrets(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    text = connection_config(state)
    assert state.ci.http_password not in text
    assert f"http_password_file: {state.ci_password_file}" in text
    assert "ssh_port: 29418" in text
    assert f"known_hosts: {state.known_hosts}" in text


def test_info_reports_endpoints_and_credentials(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    data = info(state, SandboxStatus.STOPPED)
    assert data["http_url"] == "http://127.0.0.1:18080/"
    assert data["ci_account"]["http_password"] == state.ci.http_password
    assert data["default_project"] == "sandbox/ci-sandbox"
    assert data["running"] is False
    assert data["status"] == "stopped"


def test_a_running_sandbox_refuses_to_change_ports(tmp_path: Path) -> None:
    state = make_state(tmp_path, http_port=18080, ssh_port=29418)
    _refuse_port_change(state, None, None)
    _refuse_port_change(state, 18080, 29418)
    with pytest.raises(SandboxError, match=r"running on HTTP 18080 and SSH 29418.*down"):
        _refuse_port_change(state, 18081, None)


def test_no_pid_is_never_running(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    assert running_pid(state) is None
    state.pid = 1  # init: alive, but not this sandbox's Gerrit
    assert running_pid(state) is None


def test_hints_carry_the_state_dir_unless_it_is_the_default(tmp_path: Path) -> None:
    assert sandbox_command(default_sandbox_dir(), "down") == "crosscheck sandbox down"
    assert sandbox_command(tmp_path, "up", "--project", "x") == (
        f"crosscheck sandbox --state-dir {tmp_path} up --project x"
    )


@pytest.mark.parametrize("name", ["sandbox/ci-sandbox", "a", "openstack/nova.x", "a_b/c-d"])
def test_good_project_names(name: str) -> None:
    assert check_project_name(name) == name


@pytest.mark.parametrize("name", ["", "x.git", "/abs", "a//b", "a/", "bad name", "-x"])
def test_bad_project_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(SandboxError, match="is not a usable project name"):
        check_project_name(name)


def test_git_errors_keep_only_the_reason() -> None:
    stderr = (
        "remote: \nremote: Processing changes: refs: 1\rremote: Processing changes: "
        "refs: 1, done\nTo http://127.0.0.1:1/a/p\n ! [remote rejected] HEAD -> "
        "refs/for/master (no new changes)\nerror: failed to push some refs\n"
    )
    assert git_reason(stderr) == (
        "To http://127.0.0.1:1/a/p; ! [remote rejected] HEAD -> "
        "refs/for/master (no new changes); error: failed to push some refs"
    )
