"""Nodes a CI owns beyond this host: SSH nodes, and PODs that take several as a whole.

A label names what a job needs; a node or a POD lists the labels it provides, and the
local provider provides the labels `executor.labels` names (by default every label
when there is no node or POD, none otherwise). A job asking for a label gets one node
with it, or one whole POD with it: every node of the POD, each with its role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: Under the login's home when a node names no work root: a directory only it can write.
DEFAULT_WORK_DIR = "crosscheck-work"
DEFAULT_CONNECT_TIMEOUT = 30
#: Seconds between keepalives; three unanswered and the node is taken for lost.
DEFAULT_KEEPALIVE = 15
DEFAULT_CHECK_INTERVAL = 60
#: The role whose node runs a POD job's steps when the POD names none.
JUMP_ROLE = "jump"


@dataclass(frozen=True)
class SshNode:
    """One machine reached over SSH, with a pinned host key: never trust on first use."""

    name: str
    host: str
    user: str
    port: int = 22
    #: The private key to log in with; None: the SSH agent (`SSH_AUTH_SOCK`).
    key_file: Path | None = None
    #: The node's host key as `TYPE BASE64`, or a known_hosts file naming it.
    host_key: str | None = None
    known_hosts: Path | None = None
    labels: tuple[str, ...] = ()
    max_builds: int = 1
    #: Where builds' work directories go on the node; None: $HOME/crosscheck-work.
    work_root: PurePosixPath | None = None
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    keepalive: int = DEFAULT_KEEPALIVE

    @property
    def address(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class Pod:
    """Nodes a job takes together (a jump host and its servers), each in a role."""

    name: str
    labels: tuple[str, ...]
    #: Role -> the names of its nodes, in the order written.
    roles: Mapping[str, tuple[str, ...]]
    #: The role whose first node runs the job's steps.
    run_on: str = JUMP_ROLE

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(name for names in self.roles.values() for name in names)

    @property
    def runner(self) -> str:
        return self.roles[self.run_on][0]


@dataclass(frozen=True)
class Lab:
    """Every node and POD of the configuration, and how the local provider fits in."""

    nodes: Mapping[str, SshNode] = field(default_factory=dict)
    pods: Mapping[str, Pod] = field(default_factory=dict)
    #: Labels this host's own slots provide.
    local_labels: frozenset[str] = frozenset()
    #: Seconds between health checks of each node.
    check_interval: int = DEFAULT_CHECK_INTERVAL

    def providers(self, label: str) -> list[str]:
        """What can give a build `label`: `local`, node names, `pod:NAME`."""
        found = ["local"] if label in self.local_labels else []
        found += [n.name for n in self.nodes.values() if label in n.labels]
        found += [f"pod:{p.name}" for p in self.pods.values() if label in p.labels]
        return found
