"""One way to open an SSH connection to Gerrit, for the stream and the reporter alike."""

from __future__ import annotations

from typing import Any

import asyncssh

from crosscheck.model.connection import GerritConnection


async def connect(connection: GerritConnection, **extra: Any) -> asyncssh.SSHClientConnection:
    """Connect as the CI account, checking the host key unless the connection opts out."""
    options: dict[str, Any] = dict(extra)
    if not connection.verify_host_keys:
        options["known_hosts"] = None  # an explicit opt-out, for throwaway servers
    elif connection.known_hosts is not None:
        options["known_hosts"] = str(connection.known_hosts)
    # else: asyncssh checks ~/.ssh/known_hosts, as ssh does
    keys = [str(connection.ssh_key)] if connection.ssh_key else ()
    return await asyncssh.connect(
        connection.host,
        port=connection.ssh_port,
        username=connection.user,
        client_keys=keys,
        **options,
    )
