"""The ceiling: a bare aiohttp handler that parses the webhook and answers 200, nothing else.

It serves the same route, on the same aiohttp version and the same kind of listener as
``bot serve`` (``web.run_app``, no access log), reads the body and decodes the JSON, so the
benchmark's ratio (our throughput over this one, same load, same run) says how much of what
aiohttp itself can do the whole pipeline keeps.

    python -m bench.ceiling --port 8099    # prints "ready http://127.0.0.1:8099" when listening
"""

from __future__ import annotations

import argparse
import json
import os

from aiohttp import web

from bench.workload import WEBHOOK_PATH


async def receive(request: web.Request) -> web.Response:
    """Parse the payload and acknowledge it."""
    body = await request.read()
    json.loads(body)
    return web.Response(text="OK")


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="core to pin this process to")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, receive)
    web.run_app(
        app,
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=lambda _: print(f"ready http://127.0.0.1:{args.port}", flush=True),
    )


if __name__ == "__main__":
    main()
