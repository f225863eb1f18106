"""A real lab (sshd hosts in network namespaces) and a CI configuration running on it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosscheck.sandbox.gerrit import SandboxState
from crosscheck.sandbox.lab import Lab, LabError, LabHost, require_lab

from .ci_loop_harness import CHECK_PIPELINE, KILL_GRACE

#: The roles of the five hosts: two nodes with label vendor-a, one with vendor-b, and a
#: POD of a jump host and a compute node.
NODES = (("lab-1", "vendor-a"), ("lab-2", "vendor-b"), ("lab-3", "vendor-a"))
POD = {"jump": "lab-4", "compute": "lab-5"}
ADMIN_TOKEN = "lab-admin-token-" + "0" * 16


#: Files in a change steer the jobs: SLEEP_A holds seconds probe-a's first attempt
#: sleeps; TICK_A how many coloured lines it prints, one every 0.3 s; FAIL_A fails it;
#: HOSTILE_A makes it print bytes that are not UTF-8 and leave a link to / as an artifact.
PROBE = """\
      - 'echo "on $(hostname -I | tr -d " ") as $(id -un) in $PWD"'
      - 'hostname -I | tr -d " \\n" > "$CROSSCHECK_ARTIFACTS/where.txt"'
"""
JOBS = f"""\
- job:
    name: probe-a
    node: vendor-a
    run:
{PROBE}      - 'if [ -f TICK_A ]; then for i in $(seq "$(cat TICK_A)");
         do printf "\\033[32mtick %s\\033[0m\\n" "$i"; sleep 0.3; done; fi'
      - 'if [ -f HOSTILE_A ]; then printf "bad \\377\\376 bytes\\n";
         ln -s / "$CROSSCHECK_ARTIFACTS/root"; echo kept > "$CROSSCHECK_ARTIFACTS/kept.txt"; fi'
      - 'if [ -f SLEEP_A ] && [ "$CROSSCHECK_ATTEMPT" = 1 ]; then sleep "$(cat SLEEP_A)"; fi'
      - 'test ! -e FAIL_A'
- job:
    name: probe-b
    node: vendor-b
    run:
{PROBE}- job:
    name: deploy
    node: opnfv-pod
    run:
      - 'cp "$CROSSCHECK_INVENTORY" "$CROSSCHECK_ARTIFACTS/inventory.yaml"'
      - 'env | grep ^CROSSCHECK_POD | sort > "$CROSSCHECK_ARTIFACTS/pod.env"'
      - 'echo "role $CROSSCHECK_NODE_ROLE on $(hostname -I | tr -d " ")"'
- project:
    name: sandbox/ci-sandbox
    check:
      jobs: [probe-a, probe-b, deploy]
"""


def make_root() -> Path:
    # pytest's tmp_path sits in a 0700 directory the lab's login user may not enter.
    root = Path(tempfile.mkdtemp(prefix="cxlab-e2e-"))
    root.chmod(0o755)
    return root


@contextlib.contextmanager
def running_lab(prefix: str, subnet: str, count: int = 5) -> Iterator[Lab]:
    """Fails, never skips, on a machine that cannot make one, saying what to install."""
    try:
        require_lab()
    except LabError as error:
        pytest.fail(str(error))
    root = make_root()
    try:
        with Lab(root, count, prefix=prefix, subnet=subnet) as lab:
            yield lab
    finally:
        shutil.rmtree(root, ignore_errors=True)


def node_yaml(lab: Lab, host: LabHost, labels: list[str]) -> str:
    return (
        "- node:\n"
        f"    name: {host.name}\n"
        f"    host: {host.address}\n"
        f"    user: {lab.user}\n"
        f"    key: {lab.client_key}\n"
        f'    host_key: "{host.host_key_line}"\n'
        f"    labels: [{', '.join(labels)}]\n"
        f"    work_root: {host.work_root}\n"
        "    keepalive: 1s\n"
        "    connect_timeout: 5s\n"
    )


def lab_config(sandbox: SandboxState, lab: Lab, directory: Path) -> Path:
    """The sandbox's connection and the CI above, on the lab's five hosts."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "connection.yaml").write_text(sandbox.connection_file.read_text())
    (directory / "admin-token").write_text(ADMIN_TOKEN)
    os.chmod(directory / "admin-token", 0o600)
    hosts = {host.name: host for host in lab.hosts}
    parts = [
        "- ci:\n    name: lab-ci\n    admin_token_file: admin-token\n",
        "- label: {name: vendor-a}\n- label: {name: vendor-b}\n- label: {name: opnfv-pod}\n",
        *(node_yaml(lab, hosts[name], [label]) for name, label in NODES),
        *(node_yaml(lab, hosts[name], []) for name in POD.values()),
        "- pod:\n    name: pod-1\n    labels: [opnfv-pod]\n"
        f"    roles: {{jump: {POD['jump']}, compute: [{POD['compute']}]}}\n",
        f"- executor:\n    slots: 2\n    kill_grace: {KILL_GRACE}\n    node_check_interval: 5s\n",
        CHECK_PIPELINE,
        JOBS,
    ]
    (directory / "ci.yaml").write_text("".join(parts))
    return directory


def marked_processes(build_id: str, running: str = "") -> list[int]:
    """Processes (on any lab host: they share this machine's process table) carrying a
    build's marker; with `running`, only those whose command line starts with it."""
    wanted = f"CROSSCHECK_BUILD_ID={build_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if wanted in (entry / "environ").read_bytes().split(b"\0") and (
                    _command_line(entry).startswith(running)
                ):
                    found.append(int(entry.name))
    return found


def _command_line(entry: Path) -> str:
    return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
