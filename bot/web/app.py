"""The aiohttp application of ``bot serve``: routes, resources and background work.

Resources are opened and closed in ``cleanup_ctx``, in order: the store; the HTTP client of the
WhatsApp sender; the engine; at start-up, the delivery of outbound messages a crash left
pending; then the sweeper. Shutdown drains in-flight messages, stops the sweeper and closes all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.channels.whatsapp import WhatsAppClient
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.sessions.factory import store_from_settings
from bot.tasks import TaskSet
from bot.web import admin, whatsapp
from bot.web.errors import error_middleware
from bot.web.keys import RUNTIME, SETTINGS, TASKS
from bot.wiring import Content, build_runtime

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0


async def health(request: web.Request) -> web.Response:
    """``GET /healthz``: 200 ``{"status": "ok"}`` once the service is ready."""
    return web.json_response({"status": "ok"})


def create_app(settings: Settings, content: Content, clock: Clock = utc_now) -> web.Application:
    """The application for ``settings``, with ``content`` already loaded and validated."""
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[TASKS] = TaskSet()
    app.router.add_get("/healthz", health)
    app.router.add_routes(whatsapp.routes)
    app.router.add_routes(admin.routes)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        store = store_from_settings(settings)
        await store.open()
        http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30),
        )
        sender = WhatsAppClient(
            http,
            settings.whatsapp.api_url,
            settings.whatsapp.access_token,
            timeout_s=settings.whatsapp.send_timeout_s,
        )
        runtime = build_runtime(settings, content, store, {"whatsapp": sender}, clock)
        app[RUNTIME] = runtime
        resent = await runtime.outbox.deliver_pending()
        if resent:
            log.info("delivered %d outbound messages left pending by the last run", resent)
        stop = asyncio.Event()
        sweeper = asyncio.create_task(runtime.sweeper.run(stop), name="sweeper")
        log.info(
            "ready: %d flows, languages %s, session timeout %.2f min, store %s",
            len(content.flows),
            ",".join(settings.languages),
            settings.session_timeout_min,
            settings.database_url,
        )
        try:
            yield
        finally:
            await app[TASKS].drain(SHUTDOWN_GRACE_S)
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await http.close()
            await store.close()

    app.cleanup_ctx.append(resources)
    return app
