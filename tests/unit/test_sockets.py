"""The web server's socket, taken before anything else (sockets.py)."""

from __future__ import annotations

import asyncio
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


async def test_accepted_connections_send_small_writes_at_once() -> None:
    """asyncio turns Nagle off only on sockets whose protocol is TCP: else a small body
    waits behind its headers for the client's delayed ACK (40 ms a request)."""
    nodelay: list[int] = []

    def accepted(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted_socket = writer.get_extra_info("socket")
        nodelay.append(accepted_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    with listen("127.0.0.1", 0) as sock:
        server = await asyncio.start_server(accepted, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            await writer.drain()
            for _ in range(100):
                if nodelay:
                    break
                await asyncio.sleep(0.01)
            writer.close()
    assert nodelay
    assert nodelay[0] != 0
