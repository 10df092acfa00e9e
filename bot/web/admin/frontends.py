"""The endpoints existing frontends call, with their exact shapes:
``POST /v1/whatsapp/clear-session/{botId}`` and ``GET /v1/whatsapp/session-status/{botId}``."""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from bot.desk import SessionAlreadyClosed
from bot.errors import BadRequest
from bot.sessions.model import Delivery, Direction, MessageRecord, Session, Status
from bot.sessions.store import SessionQuery
from bot.web.admin import params
from bot.web.admin.auth import authorize
from bot.web.admin.shapes import iso
from bot.web.keys import RUNTIME, SETTINGS
from bot.web.openapi.limits import MAX_ID_LENGTH, MAX_LIMIT

routes = web.RouteTableDef()
CLEARED_REASON = "cleared"
_BLANK = " \t"
"""What is stripped around a ``userId`` (exactly what the OpenAPI pattern ``[^ \\t]`` means)."""


def _user_ids(user: str) -> list[str]:
    """``user`` as given, then in the other stored spelling (Cloud API ``549...`` digits,
    Twilio ``+549...``)."""
    other = user[1:] if user.startswith("+") else f"+{user}"
    return [user, other] if other.lstrip("+").isdigit() else [user]


async def _sessions_of(request: web.Request, bot_id: str, user: str) -> list[Session]:
    store = request.app[RUNTIME].store
    for user_id in _user_ids(user):
        found = await store.list_sessions(
            SessionQuery(bot_id=bot_id, user_id=user_id, limit=MAX_LIMIT)
        )
        if found:
            return found
    return []


@routes.post("/v1/whatsapp/clear-session/{bot_id}")
async def clear_session(request: web.Request) -> web.Response:
    """Reset a user at a bot: ``clearSession`` closes the active session(s) as ``cancelled``
    (reason ``cleared``; no notice unless ``"notify": true``); ``clearRedis`` and
    ``clearDatabase`` delete the user's sessions and messages from the backend of that kind
    when it is the one in use (``DATABASE_URL``), and report ``done: false`` otherwise."""
    authorize(request)
    bot_id = params.path(request, "bot_id")
    body = await params.json_body(request, required=True)
    user = body.get("userId")
    if not isinstance(user, str) or not user.strip(_BLANK):
        raise BadRequest("userId must be a non-empty string")
    user = user.strip(_BLANK)
    if len(user) > MAX_ID_LENGTH:
        raise BadRequest(f"userId must be at most {MAX_ID_LENGTH} characters")
    flags = {
        name: params.flag(body, name, False)
        for name in ("clearSession", "clearRedis", "clearDatabase")
    }
    notify = params.flag(body, "notify", False)
    runtime = request.app[RUNTIME]
    sessions = await _sessions_of(request, bot_id, user)
    results: dict[str, Any] = {}
    if flags["clearSession"]:
        closed = []
        for session in sessions:
            if session.status.is_open and await _close_quietly(request, session, notify):
                closed.append(session.id)
        results["clearSession"] = {"done": True, "closedSessionIds": closed}
    backend = request.app[SETTINGS].database_url.partition("://")[0].partition("+")[0]
    for flag, kind in (("clearRedis", "redis"), ("clearDatabase", "sqlite")):
        if not flags[flag]:
            continue
        if backend != kind:
            results[flag] = {"done": False, "detail": f"no {kind} backend in use ({backend})"}
            continue
        keys = sorted({s.key for s in sessions}, key=lambda k: (k.channel, k.bot_id, k.user_id))
        async with contextlib.AsyncExitStack() as stack:
            for key in keys:
                await stack.enter_async_context(runtime.engine.locks.lock(key))
            deleted_sessions = deleted_messages = 0
            for user_id in {s.key.user_id for s in sessions} or {user}:
                counts = await runtime.store.delete_user(bot_id, user_id)
                deleted_sessions += counts.sessions
                deleted_messages += counts.messages
        results[flag] = {
            "done": True,
            "deletedSessions": deleted_sessions,
            "deletedMessages": deleted_messages,
        }
    return web.json_response({"success": True, "botId": bot_id, "userId": user, "results": results})


async def _close_quietly(request: web.Request, session: Session, notify: bool) -> bool:
    try:
        closed = await request.app[RUNTIME].engine.close_session(
            session.id, Status.CANCELLED, CLEARED_REASON, notify=notify
        )
    except SessionAlreadyClosed:
        return False
    return closed is not None


def connection_status(session: Session | None, last_out: MessageRecord | None) -> str:
    """``failed`` when the newest message to the user failed (or was skipped: outside the
    24-hour window); ``connecting`` when the session
    is active but the bot's newest message is still pending (or none was sent yet);
    ``active`` for another active session; ``inactive`` otherwise (closed or none)."""
    if session is None:
        return "inactive"
    if last_out is not None and last_out.status in (Delivery.FAILED, Delivery.SKIPPED_WINDOW):
        return "failed"
    if not session.status.is_open:  # a session a person has (handoff) is active too
        return "inactive"
    if last_out is None or last_out.status is Delivery.PENDING:
        return "connecting"
    return "active"


@routes.get("/v1/whatsapp/session-status/{bot_id}")
async def session_status(request: web.Request) -> web.Response:
    """The user's status at a bot, in the shape existing frontends read."""
    authorize(request)
    bot_id = params.path(request, "bot_id")
    user = (params.text(request, "userId") or "").strip(_BLANK)
    if not user:
        raise BadRequest("userId is required")
    sessions = await _sessions_of(request, bot_id, user)
    session = sessions[0] if sessions else None
    last_out: MessageRecord | None = None
    if session is not None:
        history = await request.app[RUNTIME].store.messages(session.id, 50)
        last_out = next((m for m in reversed(history) if m.direction is Direction.OUT), None)
    stored_user = session.key.user_id if session else user
    return web.json_response(
        {
            "success": True,
            "status": connection_status(session, last_out),
            "lastSeen": iso(session.last_activity_at) if session else None,
            "phoneNumber": stored_user if stored_user.startswith("+") else f"+{stored_user}",
            "displayName": session.display_name if session else None,
            "sessionId": session.id if session else None,
        }
    )
