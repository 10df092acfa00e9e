"""Read-only admin API under ``/v1`` (``Authorization: Bearer $ADMIN_TOKEN``).

- ``GET /v1/sessions?user=&status=&limit=&offset=`` → ``{"sessions": [...], "limit", "offset"}``,
  newest first.
- ``GET /v1/sessions/{id}?limit=`` → the session with ``"messages"`` (oldest first).

401 without the right token (compared in constant time), 400 for a bad filter, 404 for an
unknown id.
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from bot.errors import BadRequest
from bot.sessions.model import MessageRecord, Session, Status
from bot.sessions.store import SessionQuery
from bot.web.keys import RUNTIME, SETTINGS

routes = web.RouteTableDef()
MAX_LIMIT = 500


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def session_json(session: Session) -> dict[str, Any]:
    """The public JSON shape of a session."""
    return {
        "id": session.id,
        "channel": session.key.channel,
        "bot_id": session.key.bot_id,
        "user_id": session.key.user_id,
        "display_name": session.display_name,
        "status": session.status.value,
        "close_reason": session.close_reason,
        "flow_id": session.flow_id,
        "step_id": session.step_id,
        "language": session.language,
        "data": session.data,
        "created_at": _iso(session.created_at),
        "last_activity_at": _iso(session.last_activity_at),
        "expires_at": _iso(session.expires_at),
        "closed_at": _iso(session.closed_at),
    }


def message_json(message: MessageRecord) -> dict[str, Any]:
    """The public JSON shape of a history message."""
    return {
        "id": message.id,
        "direction": message.direction.value,
        "kind": message.kind,
        "text": message.text,
        "step_id": message.step_id,
        "created_at": _iso(message.created_at),
        "provider_id": message.provider_id,
        "status": message.status.value,
        "error_code": message.error_code,
        "error_detail": message.error_detail,
    }


def _authorize(request: web.Request) -> None:
    token = request.app[SETTINGS].admin_token
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if (
        not token
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(given.strip().encode(), token.encode())
    ):
        raise BadRequest("missing or invalid bearer token", status=401)


def _int(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {raw!r}") from None
    if not 0 <= value <= maximum:
        raise BadRequest(f"{name} must be between 0 and {maximum}")
    return value


@routes.get("/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """Sessions filtered by ``user`` and ``status``, newest first, paginated."""
    _authorize(request)
    status = request.query.get("status") or None
    if status is not None and status not in {s.value for s in Status}:
        raise BadRequest(f"status must be one of {', '.join(s.value for s in Status)}")
    query = SessionQuery(
        user_id=request.query.get("user") or None,
        status=status,
        limit=_int(request, "limit", 50, MAX_LIMIT),
        offset=_int(request, "offset", 0, 10**9),
    )
    sessions = await request.app[RUNTIME].store.list_sessions(query)
    return web.json_response(
        {
            "sessions": [session_json(s) for s in sessions],
            "limit": query.limit,
            "offset": query.offset,
        }
    )


@routes.get("/v1/sessions/{session_id}")
async def get_session(request: web.Request) -> web.Response:
    """One session with its message history (``limit`` newest messages, oldest first)."""
    _authorize(request)
    store = request.app[RUNTIME].store
    session = await store.get(request.match_info["session_id"])
    if session is None:
        raise BadRequest("no such session", status=404)
    messages = await store.messages(session.id, _int(request, "limit", 200, 10_000))
    return web.json_response(
        {**session_json(session), "messages": [message_json(m) for m in messages]}
    )
