"""The admin API's sessions: listings (``/v1/sessions``, ``/v1/sessions/active``), one session
with its history, closing one (``/complete``, ``/cancel``: the user gets the localized close
notice unless ``{"notify": false}``) and a user's sessions (``/v1/users/{user}/session``)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from aiohttp import web

from bot.desk import SessionAlreadyClosed
from bot.errors import BadRequest
from bot.sessions.model import Status
from bot.sessions.store import SessionQuery
from bot.web.admin import params
from bot.web.admin.auth import authorize
from bot.web.admin.shapes import listed_json, message_json, session_json, sessions_json
from bot.web.keys import RUNTIME
from bot.web.openapi.limits import MAX_LIMIT, MAX_MESSAGES, REASON_PATTERN

routes = web.RouteTableDef()
OPERATOR_REASON = "operator"
_REASON = re.compile(REASON_PATTERN)


@routes.get("/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """Sessions matching the filters, newest first, paginated, with the ``total`` count."""
    authorize(request)
    query = params.session_query(request)
    store = request.app[RUNTIME].store
    sessions = await store.list_sessions(query)
    return web.json_response(
        {
            "sessions": await listed_json(store, sessions),
            "limit": query.limit,
            "offset": query.offset,
            "total": await store.count_sessions(query),
        }
    )


@routes.get("/v1/sessions/active")
async def active_sessions(request: web.Request) -> web.Response:
    """Active sessions (same filters as ``/v1/sessions`` but ``status``), newest first, each
    with ``active_for_s`` (seconds since it was created) and ``expires_in_s`` (seconds until
    its inactivity timeout; negative when due and not swept yet)."""
    authorize(request)
    query = params.session_query(request, status=Status.ACTIVE.value)
    runtime = request.app[RUNTIME]
    store = runtime.store
    sessions = await store.list_sessions(query)
    now = runtime.engine.clock()
    listed = await listed_json(store, sessions)
    for item, session in zip(listed, sessions, strict=True):
        item["active_for_s"] = round((now - session.created_at).total_seconds(), 1)
        item["expires_in_s"] = (
            round((session.expires_at - now).total_seconds(), 1) if session.expires_at else None
        )
    return web.json_response(
        {
            "active_sessions": listed,
            "total_active": await store.count_sessions(query),
            "limit": query.limit,
            "offset": query.offset,
        }
    )


@routes.get("/v1/sessions/{session_id}")
async def get_session(request: web.Request) -> web.Response:
    """One session with its message history (``limit`` newest messages, oldest first)."""
    authorize(request)
    store = request.app[RUNTIME].store
    session = await store.get(params.session_id(request))
    if session is None:
        raise BadRequest("no such session", status=404)
    messages = await store.messages(session.id, params.whole(request, "limit", 200, MAX_MESSAGES))
    opted_out_at = await store.opted_out_at(session.key)
    return web.json_response(
        {**session_json(session, opted_out_at), "messages": [message_json(m) for m in messages]}
    )


async def _close(request: web.Request, status: Status) -> web.Response:
    authorize(request)
    session_id = params.session_id(request)
    body = await params.json_body(request, required=False)
    notify = params.flag(body, "notify", True)
    reason = body.get("reason", OPERATOR_REASON)
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        raise BadRequest("reason must be 1-64 lowercase letters, digits or _, starting a-z")
    engine = request.app[RUNTIME].engine
    try:
        session = await engine.close_session(session_id, status, reason, notify=notify)
    except SessionAlreadyClosed as exc:
        raise BadRequest(str(exc), status=409) from None
    if session is None:
        raise BadRequest("no such session", status=404)
    opted_out_at = await request.app[RUNTIME].store.opted_out_at(session.key)
    notified = notify and opted_out_at is None  # never a notice to a user who opted out
    return web.json_response({**session_json(session, opted_out_at), "notified": notified})


@routes.post("/v1/sessions/{session_id}/complete")
async def complete_session(request: web.Request) -> web.Response:
    """Close an active session as ``completed`` (body: ``{"notify": bool, "reason": str}``)."""
    return await _close(request, Status.COMPLETED)


@routes.post("/v1/sessions/{session_id}/close")
async def close_session(request: web.Request) -> web.Response:
    """Close an open session (active, or in handoff) as ``completed``, like ``/complete``
    (body: ``{"notify": bool, "reason": str}``; the notice is ``close.<reason>``)."""
    return await _close(request, Status.COMPLETED)


@routes.post("/v1/sessions/{session_id}/cancel")
async def cancel_session(request: web.Request) -> web.Response:
    """Close an active session as ``cancelled`` (body: ``{"notify": bool, "reason": str}``)."""
    return await _close(request, Status.CANCELLED)


@routes.get("/v1/users/{user}/session")
async def user_session(request: web.Request) -> web.Response:
    """The user's current (newest active, else in handoff) session with its history, and
    recent sessions."""
    authorize(request)
    store = request.app[RUNTIME].store
    user = params.path(request, "user")
    channels = params.channels(request)
    if len(channels) > 1:
        raise BadRequest("channel must be one channel here")
    base = SessionQuery(
        user_id=user,
        channel=channels[0] if channels else None,
        bot_id=params.text(request, "bot"),
        limit=params.whole(request, "sessions", 10, MAX_LIMIT),
    )
    recent = await store.list_sessions(base)
    if not recent:
        raise BadRequest("no sessions for this user", status=404)
    active = await store.list_sessions(
        replace(base, status=Status.ACTIVE.value, limit=1)
    ) or await store.list_sessions(replace(base, status=Status.HANDOFF.value, limit=1))
    current: dict[str, Any] | None = None
    listed = await sessions_json(store, recent)
    if active:
        messages = await store.messages(
            active[0].id, params.whole(request, "limit", 50, MAX_MESSAGES)
        )
        opted_out_at = await store.opted_out_at(active[0].key)
        current = {
            **session_json(active[0], opted_out_at),
            "messages": [message_json(m) for m in messages],
        }
    newest = current or listed[0]  # the user's opt-out on the channel they wrote on last
    return web.json_response(
        {
            "user_id": user,
            "opted_out": newest["opted_out"],
            "opted_out_at": newest["opted_out_at"],
            "session": current,
            "recent_sessions": listed,
        }
    )
