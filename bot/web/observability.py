"""``/metrics``, ``/readyz`` and the webhook latency middleware.

- ``GET /metrics``: the app's own Prometheus registry in the text exposition format.
- ``GET /readyz``: 200 ``{"status": "ready", "flows": N}`` when the store answers a query,
  accepts a write (a probe record, within ``WRITE_PROBE_TIMEOUT_S``) and flows are loaded;
  503 ``{"status": "not ready", "reason": ...}`` otherwise (before start-up finished,
  ``store unreachable: ...``, ``store not writable: ...`` such as a read-only SQLite file,
  no flow).
- :func:`latency_middleware`: observes ``bot_webhook_latency_seconds{route, status}`` for every
  request under ``/webhook/``; ``route`` is the route's pattern (``/webhook/twilio``), never the
  raw path, so labels stay few.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from bot.metrics import CONTENT_TYPE, PrometheusMetrics
from bot.sessions.store import WRITE_PROBE_TIMEOUT_S
from bot.web.errors import Handler
from bot.web.keys import RUNTIME

log = logging.getLogger(__name__)

METRICS = web.AppKey("metrics", PrometheusMetrics)
"""The app's metrics (its own registry)."""

WEBHOOK_PREFIX = "/webhook/"
_READY_PROBE_ID = "readyz-probe"


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics``: the Prometheus text format."""
    body = request.app[METRICS].render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def readyz(request: web.Request) -> web.Response:
    """``GET /readyz``: ready when the store answers, accepts writes and flows are loaded."""
    runtime = request.app.get(RUNTIME)
    if runtime is None:
        return web.json_response({"status": "not ready", "reason": "starting"}, status=503)
    try:
        async with asyncio.timeout(WRITE_PROBE_TIMEOUT_S):
            await runtime.store.get(_READY_PROBE_ID)
    except TimeoutError:
        log.warning("readyz: store unreachable: no answer in %g s", WRITE_PROBE_TIMEOUT_S)
        reason = f"store unreachable: no answer in {WRITE_PROBE_TIMEOUT_S:g} s"
        return web.json_response({"status": "not ready", "reason": reason}, status=503)
    except Exception as exc:  # a probe reports any failure instead of raising it
        log.warning("readyz: store unreachable: %s", exc)
        return web.json_response(
            {"status": "not ready", "reason": f"store unreachable: {exc}"}, status=503
        )
    try:
        await runtime.store.check_writable()
    except Exception as exc:  # a probe reports any failure instead of raising it
        log.warning("readyz: store not writable: %s", exc)
        return web.json_response(
            {"status": "not ready", "reason": f"store not writable: {exc}"}, status=503
        )
    if not runtime.content.flows:
        return web.json_response({"status": "not ready", "reason": "no flows loaded"}, status=503)
    return web.json_response({"status": "ready", "flows": len(runtime.content.flows)})


@web.middleware
async def latency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time webhook requests into the latency histogram (others pass through untimed)."""
    if not request.path.startswith(WEBHOOK_PREFIX):
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[METRICS].webhook_latency(route, status, time.perf_counter() - started)
