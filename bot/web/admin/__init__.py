"""The operators' API under ``/v1`` (``Authorization: Bearer $ADMIN_TOKEN``, JSON).

Sessions: ``GET /v1/sessions`` (filters, pagination, ``total``), ``GET /v1/sessions/active``,
``GET /v1/sessions/{id}`` (with ``messages``), ``POST /v1/sessions/{id}/complete``, ``/close``
(the same) and ``/cancel`` (the user gets the localized close notice unless
``{"notify": false}``). Handoffs to a person (:mod:`.handoffs`): ``GET /v1/handoffs``,
``POST /v1/sessions/{id}/handoff``, ``GET`` and ``POST /v1/sessions/{id}/messages``,
``POST /v1/sessions/{id}/return``.
``GET /v1/users/{user}/session`` and ``GET /v1/stats``. For the dashboard (issue #8):
``GET /v1/health`` (store, active sessions, sweeper lag, send errors, opens and closes per
hour) and ``GET /v1/stats/flows`` (completion and where users stop, per step). For existing
frontends, exactly:
``POST /v1/whatsapp/clear-session/{botId}`` and ``GET /v1/whatsapp/session-status/{botId}``.
The OpenAPI document (:mod:`bot.web.openapi`) describes every one, with its shapes, and is
served without a token at ``GET /v1/openapi.json``.

401 without the right token (compared in constant time, over the bytes sent), 400 with a reason
for a bad filter, path or body (every parameter is checked against the limits the OpenAPI
document declares: formats, ranges, lengths, enums), 404 for an unknown id, 409 for closing a
session that is closed, and for a handoff call on another agent's session or on one not in
handoff.
"""

from __future__ import annotations

from aiohttp import web

from bot.web.admin import docs, frontends, handoffs, health, sessions, stats

routes: list[web.AbstractRouteDef] = [
    *docs.routes,
    *sessions.routes,
    *handoffs.routes,
    *stats.routes,
    *health.routes,
    *frontends.routes,
]
"""Every route of the API, in the order they are matched (``/v1/sessions/active`` before
``/v1/sessions/{session_id}``)."""
