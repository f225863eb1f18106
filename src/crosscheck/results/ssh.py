"""The SSH command server (asyncssh): a CI account authenticates with its SSH key.

Only commands run (no shell, no forwarding). The key alone names the account:
the SSH user name is not used, so account names with spaces need no quoting.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncssh

from crosscheck.results.commands import USAGE, CommandContext, UsageError, run_command
from crosscheck.results.resolver import ChangeResolver
from crosscheck.results.service import ResultsService

log = logging.getLogger(__name__)

_ACCOUNT = "crosscheck_results_account"
#: How long a batch on stdin may take to arrive.
STDIN_TIMEOUT = 120.0


class _Server(asyncssh.SSHServer):
    def __init__(self, service: ResultsService) -> None:
        self.service = service
        self._connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connection = conn

    def begin_auth(self, username: str) -> bool:
        return True  # every session authenticates

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        account = await self.service.accounts.by_ssh_key(key)
        if account is None or self._connection is None:
            log.info("ssh: refused key %s (no CI account has it)", key.get_fingerprint())
            return False
        self._connection.set_extra_info(**{_ACCOUNT: account.name})
        return True


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's host key, created (ed25519, mode 0600) on first use."""
    if path.exists():
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(key.export_private_key())
    return key


async def start_ssh_server(
    service: ResultsService,
    resolver: ChangeResolver,
    host_key: asyncssh.SSHKey,
    host: str = "127.0.0.1",
    port: int = 0,
) -> asyncssh.SSHAcceptor:
    """Listen for commands; `port=0` picks a free port (see `acceptor.sockets`)."""

    async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
        account = process.get_extra_info(_ACCOUNT)
        command = process.command
        if not command:
            process.stderr.write(f"this server runs commands only; {USAGE}\n")
            process.exit(2)
            return

        async def read_stdin() -> str:
            try:
                async with asyncio.timeout(STDIN_TIMEOUT):
                    return str(await process.stdin.read())
            except TimeoutError as error:
                raise UsageError(
                    f"stdin did not end within {STDIN_TIMEOUT:.0f}s: send the batch, then EOF"
                ) from error

        context = CommandContext(str(account), service, resolver, read_stdin)
        outcome = await run_command(command, context)
        log.info("ssh: %s ran %s: exit %d", account, command.split()[:2], outcome.exit_status)
        process.stdout.write(outcome.stdout)
        process.stderr.write(outcome.stderr)
        process.exit(outcome.exit_status)

    return await asyncssh.create_server(
        lambda: _Server(service),
        host,
        port,
        server_host_keys=[host_key],
        process_factory=handle,
        encoding="utf-8",
        allow_scp=False,
        x11_forwarding=False,
        agent_forwarding=False,
        line_editor=False,
    )
