"""The `node` and `pod` elements: a valid lab, and each mistake where it is written."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import asyncssh
import pytest

from crosscheck.config.show import show

from .helpers import errors, load

KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
HOST_KEY = " ".join(KEY.split()[:2])

LAB = f"""
- label: {{name: vendor}}
- label: {{name: opnfv-pod}}
- node:
    name: array-1
    host: 10.0.0.5
    user: ci
    key: keys/ci
    host_key: "{HOST_KEY} root@array-1"
    labels: vendor
    max_builds: 2
    keepalive: 5s
- node:
    name: array-2
    host: array-2.lab.example
    port: 2222
    user: ci
    agent: true
    known_hosts: known_hosts
    labels: [vendor]
    work_root: /srv/ci/
- node: {{name: pod1-jump, host: 10.1.0.1, user: ci, agent: true, host_key: "{HOST_KEY}"}}
- node: {{name: pod1-n1, host: 10.1.0.2, user: ci, agent: true, host_key: "{HOST_KEY}"}}
- node: {{name: pod1-n2, host: 10.1.0.3, user: ci, agent: true, host_key: "{HOST_KEY}"}}
- pod:
    name: pod1
    labels: opnfv-pod
    roles: {{jump: pod1-jump, compute: [pod1-n1, pod1-n2]}}
"""


def test_a_lab_of_nodes_and_a_pod_loads_with_paths_beside_the_file(tmp_path: Path) -> None:
    result = load(tmp_path, LAB + "- executor: {labels: [lab]}\n")
    assert errors(result) == []
    assert result.config is not None
    lab = result.config.lab
    first = lab.nodes["array-1"]
    assert first.key_file == tmp_path / "keys/ci"
    assert first.host_key == HOST_KEY  # the comment dropped
    assert (first.max_builds, first.keepalive, first.work_root) == (2, 5, None)
    second = lab.nodes["array-2"]
    assert (second.port, second.key_file, second.known_hosts) == (
        2222,
        None,
        tmp_path / "known_hosts",
    )
    assert second.work_root == PurePosixPath("/srv/ci")
    pod = lab.pods["pod1"]
    assert pod.roles == {"jump": ("pod1-jump",), "compute": ("pod1-n1", "pod1-n2")}
    assert (pod.run_on, pod.runner) == ("jump", "pod1-jump")
    # `lab`, from the base file, is provided by no node: this host's slots take it.
    assert lab.local_labels == {"lab"}
    assert lab.check_interval == 60
    assert lab.providers("vendor") == ["array-1", "array-2"]
    assert lab.providers("opnfv-pod") == ["pod:pod1"]
    assert lab.providers("lab") == ["local"]


def test_executor_labels_say_which_labels_this_host_takes_beside_the_nodes(tmp_path: Path) -> None:
    result = load(tmp_path, LAB + "- executor: {labels: [vendor, lab]}\n")
    assert errors(result) == []
    assert result.config is not None
    assert result.config.lab.providers("vendor") == ["local", "array-1", "array-2"]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            "{name: n, host: h, user: ci, host_key: KEY}",
            "say how to log in: 'key: PATH' (a private key file) or 'agent: true'",
        ),
        (
            "{name: n, host: h, user: ci, agent: true}",
            "pin the node's host key, which is never accepted unseen",
        ),
        (
            "{name: n, host: h, user: ci, agent: true, host_key: KEY, known_hosts: k}",
            "pin the node's host key",
        ),
        (
            "{name: n, host: h, user: ci, agent: true, host_key: 'ssh-ed25519 nope'}",
            "not an SSH public host key",
        ),
        (
            "{name: n, host: ci@h, user: ci, agent: true, host_key: KEY}",
            "is not a host name or address: write the host alone",
        ),
        (
            "{name: n, host: h, user: ci, agent: true, host_key: KEY, password: hunter2}",
            "never a password written here",
        ),
        (
            "{name: n, host: h, user: ci, agent: true, host_key: KEY, work_root: tmp/ci}",
            "is not an absolute directory",
        ),
        (
            "{name: a/b, host: h, user: ci, agent: true, host_key: KEY}",
            "is not a node name",
        ),
        (
            "{name: local, host: h, user: ci, agent: true, host_key: KEY}",
            "'local' names this host's own slots",
        ),
    ],
)
def test_a_node_written_wrong_is_refused_where_it_is_written(
    tmp_path: Path, node: str, expected: str
) -> None:
    result = load(tmp_path, "- node: " + node.replace("KEY", f'"{HOST_KEY}"') + "\n")
    (message,) = errors(result)
    assert message.startswith("test.yaml:1:")
    assert expected in message
    assert "hunter2" not in message


def test_pod_mistakes_each_name_the_node_and_the_role(tmp_path: Path) -> None:
    text = (
        LAB
        + f"""
- node: {{name: lonely, host: 10.9.0.1, user: ci, agent: true, host_key: "{HOST_KEY}",
          labels: [vendor]}}
- pod:
    name: pod2
    labels: [opnfv-pod]
    roles: {{jump: pod1-jump, compute: [pod1-nn, lonely]}}
- pod: {{name: pod3, labels: [opnfv-pod, nope], roles: {{head: pod1-n1}}}}
"""
    )
    found = errors(load(tmp_path, text))
    assert any(
        "pod 'pod2': role 'jump': node 'pod1-jump' is in pod 'pod1' already" in m for m in found
    )
    assert any("role 'compute' names unknown node 'pod1-nn'" in m and "pod1-n2" in m for m in found)
    assert any("node 'lonely' has labels of its own (vendor)" in m for m in found)
    assert any(
        "this POD has none: name the role to run them on with 'run_on: ROLE' (head)" in m
        for m in found
    )


def test_a_label_nothing_provides_and_an_unknown_label_are_errors(tmp_path: Path) -> None:
    text = LAB + "- executor: {labels: [vendorr]}\n"
    found = errors(load(tmp_path, text))
    assert any(
        "executor: labels names unknown label 'vendorr'" in m and "vendor" in m for m in found
    )
    assert any("label 'lab' has no provider" in m for m in found)


def test_with_nodes_a_label_runs_on_this_machine_only_when_executor_labels_names_it(
    tmp_path: Path,
) -> None:
    # A node that lost its labels must not send its jobs next to crosscheck's secrets.
    text = LAB.replace("labels: [vendor]\n", "\n").replace("labels: vendor\n", "\n")
    found = errors(load(tmp_path, text + "- executor: {labels: [lab]}\n"))
    (message,) = [m for m in found if "has no provider" in m]
    assert "label 'vendor' has no provider" in message
    assert "'- executor: {labels: [vendor]}'" in message
    # Without any node or POD, every label is this machine's, as before.
    plain = load(tmp_path / "plain", "- job: {name: j, node: lab, run: [make]}\n")
    assert errors(plain) == []
    assert plain.config is not None
    assert plain.config.lab.local_labels == {"lab"}


def test_config_show_lists_nodes_and_pods_as_they_will_be_used(tmp_path: Path) -> None:
    result = load(tmp_path, LAB + "- executor: {labels: [lab]}\n")
    assert result.config is not None
    shown = show(result.config)
    nodes = {e["node"]["name"]: e["node"] for e in shown if "node" in e}
    assert nodes["array-1"]["key"] == str(tmp_path / "keys/ci")
    assert nodes["array-1"]["host_key"] == HOST_KEY
    assert nodes["array-2"]["agent"] is True
    assert nodes["array-2"]["known_hosts"] == str(tmp_path / "known_hosts")
    assert nodes["array-1"]["work_root"] == "$HOME/crosscheck-work"
    (pod,) = [e["pod"] for e in shown if "pod" in e]
    assert pod == {
        "name": "pod1",
        "labels": ["opnfv-pod"],
        "roles": {"jump": ["pod1-jump"], "compute": ["pod1-n1", "pod1-n2"]},
        "run_on": "jump",
    }
