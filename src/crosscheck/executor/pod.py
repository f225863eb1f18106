"""What a POD job is told about its POD: each role's nodes in its environment, and the
same in an inventory file (Ansible's YAML form, which deployment tools read)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

import yaml

from crosscheck.model.node import Pod, SshNode

INVENTORY = "inventory.yaml"


def pod_environment(
    pod: Pod, nodes: Mapping[str, SshNode], run_dir: PurePosixPath
) -> dict[str, str]:
    env = {
        "CROSSCHECK_POD": pod.name,
        "CROSSCHECK_NODE_ROLE": pod.run_on,
        "CROSSCHECK_POD_ROLES": " ".join(pod.roles),
        "CROSSCHECK_INVENTORY": str(run_dir / INVENTORY),
    }
    for role, names in pod.roles.items():
        prefix = f"CROSSCHECK_POD_{role.upper()}"
        env[f"{prefix}_NODES"] = " ".join(names)
        env[f"{prefix}_HOSTS"] = " ".join(nodes[name].host for name in names)
    return env


def inventory(pod: Pod, nodes: Mapping[str, SshNode]) -> str:
    children = {
        role: {
            "hosts": {
                name: {
                    "ansible_host": nodes[name].host,
                    "ansible_port": nodes[name].port,
                    "ansible_user": nodes[name].user,
                }
                for name in names
            }
        }
        for role, names in pod.roles.items()
    }
    document = {"all": {"vars": {"crosscheck_pod": pod.name}, "children": children}}
    return yaml.safe_dump(document, sort_keys=False)
