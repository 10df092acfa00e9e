"""The echo-bot floor: the least any Python bot on this stack does per WhatsApp webhook.

A bare aiohttp server (uvloop, as ``bot serve``) that, for every POST to the webhook path,
reads the body, checks ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app
secret; 401 when wrong), decodes the JSON, answers 200, and then sends one text reply per
inbound message (its text, or the tapped button's title) to the Graph API through one
keep-alive client session. Delivery statuses are acknowledged and otherwise ignored; nothing
is stored, nothing is classified, no session exists.

Under the same load on the same core as ``bot serve`` (``bench/statuses.py``), its messages/s
is the floor cost of "receive, verify, acknowledge, reply" that our worker is compared with.

    python -m bench.echo_floor --port 8098 --api-url http://127.0.0.1:P/v21.0 --secret S
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import uvloop
from aiohttp import web

from bench.workload import WEBHOOK_PATH

SEND_CONCURRENCY = 128
"""Sends in flight at once (``bot serve`` runs with ``DELIVERY_CONCURRENCY=128`` in benches)."""

CLIENT: web.AppKey[aiohttp.ClientSession] = web.AppKey("client", aiohttp.ClientSession)


@dataclass(frozen=True, slots=True)
class EchoConfig:
    """Where replies go (``api_url``, with version), the app ``secret`` and the bearer
    ``token``."""

    api_url: str
    secret: bytes
    token: str


CONFIG: web.AppKey[EchoConfig] = web.AppKey("config", EchoConfig)
TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("tasks", set)


def replies_of(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(business number id, user, text) of every inbound message of a Cloud API webhook body
    (statuses and other changes give none)."""
    found = []
    for entry in payload.get("entry") or ():
        for change in entry.get("changes") or ():
            value = change.get("value") or {}
            bot_id = (value.get("metadata") or {}).get("phone_number_id", "")
            for message in value.get("messages") or ():
                kind = message.get("type")
                if kind == "text":
                    text = message["text"]["body"]
                elif kind == "interactive":
                    reply = message["interactive"]
                    text = reply.get(reply.get("type"), {}).get("title", "")
                else:
                    text = kind or "?"
                found.append((bot_id, message.get("from", ""), text))
    return found


async def receive(request: web.Request) -> web.Response:
    """Verify, acknowledge, and reply to each message in the background."""
    body = await request.read()
    config = request.app[CONFIG]
    expected = "sha256=" + hmac.new(config.secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return web.Response(status=401, text="bad signature")
    replies = replies_of(json.loads(body))
    if replies:
        client, tasks = request.app[CLIENT], request.app[TASKS]
        for bot_id, user, text in replies:
            task = asyncio.create_task(_send(client, config, bot_id, user, text))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    return web.Response(text="OK")


async def _send(
    client: aiohttp.ClientSession, config: EchoConfig, bot_id: str, user: str, text: str
) -> None:
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": user,
        "type": "text",
        "text": {"preview_url": False, "body": f"echo: {text}"},
    }
    headers = {"Authorization": f"Bearer {config.token}"}
    url = f"{config.api_url}/{bot_id}/messages"
    async with client.post(url, json=body, headers=headers) as response:
        await response.read()


def app(api_url: str, secret: str, token: str) -> web.Application:
    """The echo bot's application."""
    application = web.Application()
    application[CONFIG] = EchoConfig(api_url, secret.encode(), token)
    application[TASKS] = set()

    async def client(application: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=SEND_CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            application[CLIENT] = session
            yield
            await asyncio.gather(*application[TASKS], return_exceptions=True)

    application.cleanup_ctx.append(client)
    application.router.add_post(WEBHOOK_PATH, receive)
    return application


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.echo_floor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True, help="the Graph API base, with version")
    parser.add_argument("--secret", required=True, help="the app secret")
    parser.add_argument("--token", default="bench-access-token")
    parser.add_argument("--cpu", type=int, default=None, help="core to pin this process to")
    args = parser.parse_args(argv)
    assert args.api_url.startswith("http://127.0.0.1:"), "replies go to 127.0.0.1 only"
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    web.run_app(
        app(args.api_url, args.secret, args.token),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=lambda _: print(f"ready http://127.0.0.1:{args.port}", flush=True),
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
