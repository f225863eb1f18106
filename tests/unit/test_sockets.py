"""The web server's socket, taken before anything else (sockets.py)."""

from __future__ import annotations

import socket

import pytest

from crosscheck.http.sockets import ListenError, listen


def test_the_socket_listens_at_once_and_holds_the_port() -> None:
    with listen("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # accepted into the backlog: it listens before uvicorn runs
        with pytest.raises(ListenError) as refused:
            listen("127.0.0.1", port)
        assert str(refused.value) == (
            f"port {port} on 127.0.0.1 is in use: stop what uses it or pass --port"
        )
        assert not sock.get_inheritable()  # a build's processes never keep the port


def test_an_address_of_another_machine_says_to_pass_host() -> None:
    with pytest.raises(ListenError, match=r"^cannot listen on 192\.0\.2\.1: not an address"):
        listen("192.0.2.1", 8080)  # TEST-NET-1: never local
