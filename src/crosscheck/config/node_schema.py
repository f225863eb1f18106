"""The `node` and `pod` elements as written.

What one entry can say alone is checked here (a host key's form, a work root's path,
a login by key or agent); what needs the others (labels declared, a POD's nodes, a
node in two PODs) is checked by config/nodes.py, which knows where each one is.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from crosscheck.model.node import DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEEPALIVE, JUMP_ROLE
from crosscheck.specs import Duration, Name, Port, Spec, as_list

#: Node, POD and role names are URL segments, metrics labels and file names.
NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: A host name or an address: no user, no port, no spaces (those have keys of their own).
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$")


def _node_name(value: str) -> str:
    if value == "local":
        raise ValueError(
            "'local' names this host's own slots (`crosscheck nodes` lists them): name the "
            "node otherwise"
        )
    if not NODE_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a node name: start with a letter or digit, then letters, "
            "digits, '.', '_' or '-' (it names a URL segment and a metrics label)"
        )
    return value


def _host(value: str) -> str:
    if "@" in value or not HOST.match(value):
        raise ValueError(
            f"{value!r} is not a host name or address: write the host alone "
            "(e.g. lab1.example.org or 10.0.0.5), the user under 'user:' and the port "
            "under 'port:'"
        )
    return value


def _host_key(value: str) -> str:
    # Imported here: asyncssh (and cryptography) would double `config check`'s start-up
    # time and memory for the few configurations that pin a host key.
    import asyncssh  # noqa: PLC0415

    try:
        asyncssh.import_public_key(value)
    except (asyncssh.KeyImportError, ValueError) as error:
        raise ValueError(
            f"not an SSH public host key ({error}): write it as 'TYPE BASE64', the line "
            "`ssh-keyscan -t ed25519 HOST` prints without the host name"
        ) from error
    return " ".join(value.split()[:2])


def _work_root(value: str) -> str:
    if not value.startswith("/") or ".." in value.split("/") or value.rstrip("/") == "":
        raise ValueError(
            f"{value!r} is not an absolute directory: builds' work directories go under "
            "it on the node, e.g. /var/tmp/crosscheck (never /)"
        )
    return value.rstrip("/")


NodeName = Annotated[str, AfterValidator(_node_name)]


class NodeSpec(Spec):
    name: NodeName
    description: str = ""
    host: Annotated[str, AfterValidator(_host)]
    port: Port = 22
    user: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")]
    key: Annotated[str, Field(min_length=1)] | None = None
    agent: bool = False
    host_key: Annotated[str, AfterValidator(_host_key)] | None = None
    known_hosts: Annotated[str, Field(min_length=1)] | None = None
    labels: Annotated[list[Name], BeforeValidator(as_list)] = Field(default_factory=list)
    max_builds: Annotated[int, Field(ge=1, le=64)] = 1
    work_root: Annotated[str, AfterValidator(_work_root)] | None = None
    connect_timeout: Annotated[Duration, Field(le=600)] = DEFAULT_CONNECT_TIMEOUT
    keepalive: Annotated[Duration, Field(le=600)] = DEFAULT_KEEPALIVE
    #: Refused with its own message: a password never goes in the configuration.
    password: Annotated[Any, Field(exclude=True)] = None

    @model_validator(mode="after")
    def _login_and_trust(self) -> NodeSpec:
        if self.password is not None:
            raise ValueError(
                "a node logs in with an SSH key, never a password written here: give "
                "'key: PATH' (a private key file) or 'agent: true'"
            )
        if (self.key is None) == (not self.agent):
            raise ValueError(
                "say how to log in: 'key: PATH' (a private key file) or 'agent: true' "
                "(the SSH agent of the user running crosscheck), one of them"
            )
        if (self.host_key is None) == (self.known_hosts is None):
            raise ValueError(
                "pin the node's host key, which is never accepted unseen: 'host_key: TYPE "
                "BASE64' (`ssh-keyscan -t ed25519 HOST` prints it) or 'known_hosts: PATH', "
                "one of them"
            )
        return self


def _roles(value: Any) -> Any:
    """`{jump: pod1-jump, compute: [pod1-n1, pod1-n2]}`: a role's one node or its list."""
    if isinstance(value, dict):
        return {role: as_list(names) for role, names in value.items()}
    return value


def _role_names(value: dict[str, list[str]]) -> dict[str, list[str]]:
    for role, names in value.items():
        if not ROLE_NAME.match(role):
            raise ValueError(
                f"{role!r} is not a role name: lower-case letters, digits and '_', starting "
                "with a letter (it names an environment variable, CROSSCHECK_POD_<ROLE>_HOSTS)"
            )
        if not names:
            raise ValueError(f"role {role!r} has no node: name at least one")
    if not value:
        raise ValueError("a POD has roles: e.g. {jump: pod1-jump, compute: [pod1-n1, pod1-n2]}")
    return value


class PodSpec(Spec):
    name: NodeName
    description: str = ""
    labels: Annotated[list[Name], BeforeValidator(as_list), Field(min_length=1)]
    roles: Annotated[
        dict[str, list[NodeName]], BeforeValidator(_roles), AfterValidator(_role_names)
    ]
    run_on: str | None = None

    @model_validator(mode="after")
    def _runner(self) -> PodSpec:
        roles = ", ".join(sorted(self.roles))
        if self.run_on is not None and self.run_on not in self.roles:
            raise ValueError(f"run_on names role {self.run_on!r}, which is not one of: {roles}")
        if self.run_on is None and JUMP_ROLE not in self.roles:
            raise ValueError(
                "a POD job's steps run on its 'jump' role's node, and this POD has none: "
                f"name the role to run them on with 'run_on: ROLE' ({roles})"
            )
        return self
