"""The listening sockets of ``bot serve``, bound before anything else starts.

``bot serve`` binds its address first, so a port in use ends the process with one line and
exit status 2 before the store, the sweeper or the outbox have touched anything; aiohttp then
serves on these sockets.
"""

from __future__ import annotations

import errno
import socket

from bot.errors import BotError

BACKLOG = 512
"""Connections the kernel queues before they are accepted (also while start-up finishes)."""


class CannotListen(BotError):
    """The address cannot be bound (one line naming ``PORT`` or ``HOST``)."""


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening TCP sockets on ``port`` of every address ``host`` resolves to (``0.0.0.0``:
    every IPv4 interface; ``::``: IPv6), as asyncio would bind them (``SO_REUSEADDR``, which
    on Linux still refuses a port another socket listens on; ``IPV6_V6ONLY``).

    Raises:
        CannotListen: ``host`` does not resolve, or a socket cannot be bound (address in
            use, permission denied, address not available here).
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {where}: {exc.strerror} (HOST)") from exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        setting = "PORT" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "HOST"
        reason = (exc.strerror or str(exc)).lower()
        raise CannotListen(f"cannot listen on {where}: {reason} ({setting})") from exc
    return sockets
