"""``/v1/health``: what an operator checks first (store, active sessions, sweeper lag, send
errors, sessions opened and closed per hour)."""

from __future__ import annotations

import time
from datetime import UTC, timedelta
from typing import Any

from aiohttp import web

from bot.errors import BadRequest
from bot.sessions.model import Status
from bot.sessions.store import SessionQuery, StoreUnavailable
from bot.web.admin import params
from bot.web.admin.auth import authorize
from bot.web.admin.shapes import iso
from bot.web.keys import RUNTIME, SETTINGS
from bot.web.observability import METRICS
from bot.web.openapi.limits import MAX_HEALTH_HOURS

routes = web.RouteTableDef()


@routes.get("/v1/health")
async def health(request: web.Request) -> web.Response:
    """What an operator checks first. ``store``: ``ok`` (with the round trip in ms) or
    ``unavailable`` (then the other figures are ``null``); ``active_sessions`` (the bot
    answers them) and ``handoff_sessions`` (a person has them or should take them);
    ``sweeper_lag_s``: how long the oldest due session has been waiting to be closed (0 when
    none is due), over the whole store; ``send_errors``: failed sends by provider error code,
    counted by this process since it started; ``hours``: the last ``hours`` UTC hours (1-168,
    default 24; the last one is the current, partial hour), oldest first, each with the
    sessions ``opened`` and ``closed`` in it by close reason."""
    authorize(request)
    hours = params.whole(request, "hours", 24, MAX_HEALTH_HOURS)
    if hours < 1:
        raise BadRequest(f"hours must be between 1 and {MAX_HEALTH_HOURS}")
    runtime = request.app[RUNTIME]
    store = runtime.store
    now = runtime.engine.clock()
    backend = request.app[SETTINGS].database_url.partition("://")[0]
    body: dict[str, Any] = {
        "now": iso(now),
        "store": {"status": "ok", "backend": backend},
        "active_sessions": None,
        "handoff_sessions": None,
        "sweeper_lag_s": None,
        "send_errors": _send_errors(request),
        "hours": None,
    }
    started = time.perf_counter()
    try:
        await store.ping()
        body["store"]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        await store.check_writable()
        body["active_sessions"] = await store.count_sessions(
            SessionQuery(status=Status.ACTIVE.value)
        )
        body["handoff_sessions"] = await store.count_sessions(
            SessionQuery(status=Status.HANDOFF.value)
        )
        due = await store.due_sessions(now, 1)
        oldest = due[0].expires_at if due else None
        body["sweeper_lag_s"] = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        first = hour - timedelta(hours=hours - 1)
        activity = await store.hourly_activity(first, hour + timedelta(hours=1))
    except StoreUnavailable as exc:
        body["store"] = {"status": "unavailable", "backend": backend, "detail": str(exc)}
        return web.json_response(body)
    starts = [first + timedelta(hours=i) for i in range(hours)]
    body["hours"] = [
        {
            "start": iso(start),
            "opened": activity.opened.get(start, 0),
            "closed": activity.closed.get(start, {}),
        }
        for start in starts
    ]
    return web.json_response(body)


def _send_errors(request: web.Request) -> dict[str, Any]:
    """``{"total": N, "by_code": {code: N}}`` from this process's ``bot_send_errors_total``
    (``code``: the provider's error code, ``none`` for no answer)."""
    by_code: dict[str, int] = {}
    metrics = request.app.get(METRICS)
    for family in metrics.registry.collect() if metrics is not None else []:
        if family.name != "bot_send_errors":
            continue
        for sample in family.samples:
            if sample.name == "bot_send_errors_total" and sample.value:
                code = sample.labels["code"]
                by_code[code] = by_code.get(code, 0) + int(sample.value)
    return {"total": sum(by_code.values()), "by_code": by_code}
