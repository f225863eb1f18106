"""The listening socket of a web server, taken before anything else is done.

A server binds its port first and hands the socket to uvicorn: a port already in
use then stops the command before it creates anything (a CI account, a token, a
database), with one line saying what to do, and no other process can take the
port between a check and uvicorn's own bind.
"""

from __future__ import annotations

import errno
import socket

from crosscheck.errors import CrosscheckError

#: uvicorn's default backlog, so handing it the socket changes nothing.
BACKLOG = 2048


class ListenError(CrosscheckError):
    """The web server's address cannot be listened on; the message says what to do."""


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port and listening (uvicorn accepts on it later)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, as getaddrinfo would: asyncio then sets TCP_NODELAY on each
    # accepted connection (it checks the protocol), else Nagle holds a small body back
    # behind its headers until the client's delayed ACK, 40 ms later.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # As uvicorn does: a restart may reuse the port while old connections linger.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening at once holds the port: two sockets with SO_REUSEADDR may both
        # bind a port on Linux as long as neither listens.
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise ListenError(_why(host, port, error)) from error
    # Not inheritable (Python's default, unlike uvicorn's own bind): a build's processes
    # must not keep the port after serve ends.
    return sock


def _why(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use: stop what uses it or pass --port"
    if error.errno == errno.EACCES:
        return (
            f"not allowed to listen on port {port} on {host} (ports below 1024 need "
            "privileges): pass --port"
        )
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return f"cannot listen on {host}: not an address of this machine: pass --host"
    return f"cannot listen on port {port} on {host} ({error.strerror or error}): pass --port"
