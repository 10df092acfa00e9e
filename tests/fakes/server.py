"""Starting a fake provider's aiohttp app on 127.0.0.1, shared by the fakes in this folder."""

from __future__ import annotations

import socket

from aiohttp import web


async def serve_local(
    app: web.Application, host: str = "127.0.0.1", port: int = 0, shutdown_timeout_s: float = 1.0
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (``0``: a free port, chosen by the OS).

    Returns:
        The runner (``await runner.cleanup()`` stops the server) and the port bound.

    Raises:
        OSError: The address cannot be bound (nothing is left running).
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout_s)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    bound: int = sock.getsockname()[1]
    return runner, bound
