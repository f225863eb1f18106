"""One SSH connection per node, with the node's pinned host key and nothing else.

No `~/.ssh/config` is read and no key is accepted unseen: what crosscheck connects to is
exactly what the configuration says. A host key that does not match is a reason of its
own (`HostKeyChangedError`), shown to operators with both fingerprints, never retried
into acceptance.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncssh

from crosscheck.executor.nodes import NodeError
from crosscheck.model.node import SshNode

log = logging.getLogger(__name__)

#: Unanswered keepalives after which a connection is taken for lost.
KEEPALIVE_COUNT = 3


class NodeUnreachableError(NodeError):
    """The node cannot be reached or logged in to; the message says why."""


class HostKeyChangedError(NodeUnreachableError):
    """The node offered a host key other than the pinned one."""


def connect_options(node: SshNode) -> dict[str, Any]:
    if node.host_key is not None:
        known_hosts: Any = ([asyncssh.import_public_key(node.host_key)], [], [])
    else:
        known_hosts = str(node.known_hosts)
    keys: dict[str, Any] = (
        {"client_keys": [str(node.key_file)], "agent_path": None}
        if node.key_file is not None
        else {}
    )
    return {
        "host": node.host,
        "port": node.port,
        "username": node.user,
        "known_hosts": known_hosts,
        "config": [],
        "connect_timeout": node.connect_timeout,
        "login_timeout": node.connect_timeout,
        "keepalive_interval": node.keepalive,
        "keepalive_count_max": KEEPALIVE_COUNT,
        "password_auth": False,
        "kbdint_auth": False,
        **keys,
    }


async def connect(node: SshNode) -> asyncssh.SSHClientConnection:
    try:
        return await asyncssh.connect(**connect_options(node))
    except asyncssh.HostKeyNotVerifiable as error:
        raise HostKeyChangedError(await _host_key_reason(node, error)) from error
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as error:
        raise NodeUnreachableError(
            f"cannot use the key {node.key_file}: {error}; give an unencrypted private key "
            "(not the .pub) readable by crosscheck, or 'agent: true' for a key with a passphrase"
        ) from error
    except asyncssh.PermissionDenied as error:
        raise NodeUnreachableError(
            f"login refused as {node.user} ({error.reason}): check the node's key or agent "
            "and the user's authorized_keys"
        ) from error
    except (OSError, asyncssh.Error, TimeoutError) as error:
        raise NodeUnreachableError(
            f"cannot connect to {node.address}: {describe(error)}"
        ) from error


def describe(error: BaseException) -> str:
    """A short reason for logs and `crosscheck nodes`."""
    if isinstance(error, asyncssh.Error):
        return error.reason or type(error).__name__
    if isinstance(error, TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__


async def _host_key_reason(node: SshNode, error: asyncssh.HostKeyNotVerifiable) -> str:
    """Both fingerprints when the offered key can be read: what an operator compares."""
    offered = "an unknown key"
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(node.host, node.port, config=[]), node.connect_timeout
        )
        if key is not None:
            offered = f"{key.get_algorithm()} {key.get_fingerprint()}"
    except (OSError, asyncssh.Error, TimeoutError):
        pass
    if node.host_key is None:  # a file may name another key, or none for this address
        return (
            f"host key not trusted: {node.host}:{node.port} offered {offered}, which "
            f"{node.known_hosts} does not name for that address (a host name where the file "
            "has an address, or the reverse, or a new key); check the key out of band, fix "
            "the file, then reload"
        )
    pinned = asyncssh.import_public_key(node.host_key).get_fingerprint()
    return (
        f"host key changed: {node.host}:{node.port} offered {offered}, but {pinned} is pinned; "
        "if the node was reinstalled, check the new key out of band and update the node's "
        "host_key (the configuration reloads)"
    )
