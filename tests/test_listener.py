"""The listening socket of the gateway and of the simulated backend (claude_gw/listener.py)."""

from __future__ import annotations

import socket

import pytest

from claude_gw.listener import bind, url_of


def test_the_socket_says_tcp_so_accepted_connections_get_tcp_nodelay() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP, and accepted
    # sockets inherit the listener's: with protocol 0, Nagle delayed every answer by 40 ms
    with bind("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP
        assert url_of(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_taken_port_is_an_oserror_and_the_socket_is_closed() -> None:
    with bind("127.0.0.1", 0) as taken, pytest.raises(OSError):
        bind("127.0.0.1", taken.getsockname()[1])
