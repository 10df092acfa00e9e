"""The aiohttp application of ``bot serve``: routes, resources and background work.

Resources are opened and closed in ``cleanup_ctx``, in order: the store; the HTTP client of the
senders (one per process: keep-alive, a total timeout per call); the engine; the outbox's
sender task, which first sends what a crash left pending; then the sweeper and the recovery of
queued inbound messages a crash left behind. Shutdown drains in-flight messages, stops the
sweeper, lets the outbox send for ``DELIVERY_SHUTDOWN_GRACE_SECONDS`` (the rest stays pending
for the next start) and closes all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from bot.channels.base import OutboundSender
from bot.channels.http import http_client
from bot.channels.sandbox import SandboxSender
from bot.channels.twilio import (
    CHANNEL_SMS,
    CHANNEL_VOICE,
    CHANNEL_WHATSAPP,
    WHATSAPP_PREFIX,
    TwilioMessagesClient,
    VoiceReplies,
)
from bot.channels.whatsapp import WhatsAppClient
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.flows.reload import ContentWatcher
from bot.metrics import PrometheusMetrics
from bot.sessions.factory import store_from_settings
from bot.sessions.maintenance import (
    CLEANUP_INTERVAL_S,
    STATS_INTERVAL_S,
    log_active_sessions,
    purge_expired,
)
from bot.sessions.store import StoreUnavailable
from bot.tasks import TaskSet, bounded, periodic, stop_tasks
from bot.web import admin, dashboard, observability, twilio, voice, whatsapp
from bot.web.errors import error_middleware
from bot.web.keys import RUNTIME, SETTINGS, TASKS
from bot.web.training import HeadTraining, freeze
from bot.wiring import Content, build_runtime

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0
"""Seconds running turns get to finish at shutdown before they are cancelled."""
STEP_S = 5.0
"""Seconds any other shutdown step gets beyond its own grace (closing a client, the store)."""
REQUESTS_GRACE_S = 15.0
"""Seconds in-flight webhook requests get to finish once the listener closes (aiohttp's
``shutdown_timeout``)."""


def shutdown_bounds_s(settings: Settings) -> dict[str, float]:
    """Each graceful-shutdown step's bound in seconds, in the order the steps run (a step
    past its bound is cancelled and the next one runs; see :func:`bot.tasks.bounded`).

    ``requests`` is aiohttp's ``shutdown_timeout``; ``background loops`` is a wait for the
    loops to see the stop, then as long again to cancel those still running."""
    return {
        "requests": REQUESTS_GRACE_S,
        "turns": SHUTDOWN_GRACE_S + STEP_S,
        "background loops": 2 * STEP_S,
        "outbox": settings.delivery.shutdown_grace_s + STEP_S,
        "WhatsApp HTTP client": STEP_S,
        "Twilio HTTP client": STEP_S,
        "store": STEP_S,
    }


def shutdown_limit_s(settings: Settings) -> float:
    """The longest a graceful shutdown can take, in seconds: every step of
    :func:`shutdown_bounds_s` using its whole bound."""
    return sum(shutdown_bounds_s(settings).values())


RECOVERY_INTERVAL_S = 5.0
"""How often inboxes left by a crashed or stopped worker are looked for (first run at start)."""


async def health(request: web.Request) -> web.Response:
    """``GET /healthz``: 200 ``{"status": "ok"}`` once the service is ready."""
    return web.json_response({"status": "ok"})


def create_app(
    settings: Settings,
    content: Content,
    clock: Clock = utc_now,
    reload: Callable[[], Content] | None = None,
    train: Callable[[], Content] | None = None,
) -> web.Application:
    """The application for ``settings``, with ``content`` already loaded and validated.

    With ``reload`` (a function that loads and validates the content again), edited flows,
    intents and locales are picked up while running (see :mod:`bot.flows.reload`). With
    ``train`` (the same, also training the semantic head the cache lacks), content whose
    head is pending (``IntentClassifier.head_pending``: a first start, edited intents) is
    served at once, the lexicon answering alone, and the trained content replaces it when
    ``train`` returns (a thread; 10-20 s), unless a newer edit came first: then the newer
    content is trained next (see :class:`HeadTraining`). An edit applies within a poll,
    not after a training.
    """
    app = web.Application(middlewares=[observability.latency_middleware, error_middleware])
    app[SETTINGS] = settings
    app[TASKS] = TaskSet()
    app[observability.METRICS] = PrometheusMetrics()
    app[voice.VOICE] = VoiceReplies()
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", observability.readyz)
    app.router.add_get("/metrics", observability.metrics)
    if settings.whatsapp.enabled:
        app.router.add_routes(whatsapp.routes)
    app.router.add_routes(admin.routes)
    dashboard.setup(app)
    if settings.twilio.enabled:
        app.router.add_routes(twilio.routes)
        app.router.add_routes(voice.routes)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        store = store_from_settings(settings, clock)
        await store.open()
        # One HTTP client per provider (keep-alive; each call has its own total timeout), so
        # a slow provider cannot take the other's connections.
        http = http_client(settings.delivery.concurrency)
        senders: dict[str, OutboundSender] = {}
        if settings.whatsapp.enabled:  # off when serving Twilio only
            senders["whatsapp"] = _whatsapp_sender(settings, http)
        twilio_http = None
        if settings.twilio.enabled:
            twilio_http = http_client(settings.delivery.concurrency)
            senders.update(_twilio_senders(settings, twilio_http))
            senders[CHANNEL_VOICE] = app[voice.VOICE]
        runtime = build_runtime(
            settings, content, store, senders, clock, app[observability.METRICS]
        )
        app[RUNTIME] = runtime
        await runtime.outbox.start()
        stop = asyncio.Event()
        sweeper = asyncio.create_task(runtime.sweeper.run(stop), name="sweeper")
        recovery = asyncio.create_task(
            periodic(stop, RECOVERY_INTERVAL_S, runtime.engine.recover, "inbox recovery"),
            name="inbox recovery",
        )

        async def cleanup() -> None:
            try:
                await purge_expired(store, clock, settings.retention_h)
            except StoreUnavailable as exc:  # a full or read-only disk: one line, no traceback
                log.warning("retention cleanup skipped: store unavailable: %s", exc)
                app[observability.METRICS].cleanup_failed()
            except Exception:
                log.exception("retention cleanup failed")
                app[observability.METRICS].cleanup_failed()
                raise

        upkeep = [
            asyncio.create_task(periodic(stop, CLEANUP_INTERVAL_S, cleanup, "retention cleanup")),
            asyncio.create_task(
                periodic(stop, STATS_INTERVAL_S, lambda: log_active_sessions(store, clock), "stats")
            ),
        ]
        training = HeadTraining(runtime, train, stop) if train is not None else None
        if training is not None:
            upkeep.append(asyncio.create_task(training.run(), name="semantic head"))
        if reload is not None:

            def apply(reloaded: Content) -> None:
                runtime.reload(reloaded)
                freeze()
                if training is not None:
                    training.wanted()

            watcher = ContentWatcher(
                (settings.flows_dir, settings.intents_dir, settings.locales_dir), reload, apply
            )
            upkeep.append(asyncio.create_task(watcher.run(stop), name="content watcher"))
        freeze()
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
            # Each step is bounded on its own: one that hangs is logged and skipped, and the
            # store still closes (bot.watchdog ends the process should the loop still hang).
            bounds_s = shutdown_bounds_s(settings)
            await bounded(app[TASKS].drain(SHUTDOWN_GRACE_S), bounds_s["turns"], "turns")
            stop.set()
            loops = [sweeper, recovery, *upkeep]
            _, running = await asyncio.wait(loops, timeout=bounds_s["background loops"] / 2)
            await stop_tasks(running, bounds_s["background loops"] / 2)
            await bounded(runtime.outbox.stop(), bounds_s["outbox"], "outbox")
            await bounded(http.close(), bounds_s["WhatsApp HTTP client"], "WhatsApp HTTP client")
            if twilio_http is not None:
                twilio_s = bounds_s["Twilio HTTP client"]
                await bounded(twilio_http.close(), twilio_s, "Twilio HTTP client")
            await bounded(store.close(), bounds_s["store"], "store")

    app.cleanup_ctx.append(resources)
    return app


def _whatsapp_sender(settings: Settings, http: aiohttp.ClientSession) -> OutboundSender:
    """The Cloud API sender, or the sandbox's for ``WHATSAPP_API_URL=sandbox`` (replies kept
    in the store as sent, nothing sent to Meta)."""
    wa = settings.whatsapp
    if wa.sandbox:
        log.info("WHATSAPP_API_URL=sandbox: replies are kept in the store, not sent")
        return SandboxSender()
    return WhatsAppClient(http, wa.api_url, wa.access_token, timeout_s=wa.send_timeout_s)


def _twilio_senders(
    settings: Settings, http: aiohttp.ClientSession
) -> dict[str, TwilioMessagesClient]:
    """The Messages API senders of the ``twilio_whatsapp`` and ``sms`` channels."""
    tw = settings.twilio
    callback = f"{settings.public_base_url}{twilio.STATUS_PATH}" if settings.public_base_url else ""
    return {
        channel: TwilioMessagesClient(
            http,
            tw.api_url,
            tw.account_sid,
            tw.auth_token,
            address_prefix=prefix,
            messaging_service_sid=tw.messaging_service_sid,
            status_callback_url=callback,
            timeout_s=tw.send_timeout_s,
        )
        for channel, prefix in ((CHANNEL_WHATSAPP, WHATSAPP_PREFIX), (CHANNEL_SMS, ""))
    }
