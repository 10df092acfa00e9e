"""The admin API's handoffs (issue 19): the queue of sessions a person has or should take,
taking one, an agent's messages, giving it back to the bot. See ``docs/handoff.md``.

- ``GET /v1/handoffs``: sessions in status ``handoff``, oldest first. With ``since``, only
  those changed at or after it (a new message, taken), plus ``ids``: every session in the
  queue now (so a polling UI drops the ones that left without reloading everything).
- ``POST /v1/sessions/{id}/handoff`` ``{"agent", "reason"?}``: take.
- ``GET /v1/sessions/{id}/messages?after=N``: the messages after id ``N`` (polling).
- ``POST /v1/sessions/{id}/messages`` ``{"agent", "text"}``: 202 with the stored message id.
- ``POST /v1/sessions/{id}/return`` ``{"agent"}``: back to the bot.

409 answers say why: ``{"error": ..., "status": now, "agent": holder}``; ``agent`` is ``null``
for the conflicts other than another agent holding the session (closed, not in handoff).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.desk import HeldByAnother, NotHandedOff, SessionAlreadyClosed
from bot.errors import BadRequest
from bot.handoff import AGENT_REASON
from bot.sessions.model import Direction, MessageRecord, Session, Status
from bot.sessions.store import QueryStore, SessionQuery
from bot.web.admin import params
from bot.web.admin.auth import authorize
from bot.web.admin.shapes import display_phone, iso, message_json, session_json
from bot.web.keys import RUNTIME
from bot.web.openapi.limits import (
    MAX_AGENT_LENGTH,
    MAX_AGENT_TEXT_LENGTH,
    MAX_HANDOFFS,
    MAX_MESSAGES,
    REASON_PATTERN,
)

routes = web.RouteTableDef()
_REASON = re.compile(REASON_PATTERN)
_TAIL = 50
"""Newest messages read per queued session to find its last inbound text."""


@routes.get("/v1/handoffs")
async def queue(request: web.Request) -> web.Response:
    """The sessions in handoff, oldest first (see the module docstring)."""
    authorize(request)
    since = params.moment(request, "since")
    limit = params.whole(request, "limit", 100, MAX_HANDOFFS)
    runtime = request.app[RUNTIME]
    store = runtime.store
    # `now` is read before the sessions, so a change made during the read is at or after it
    # and a poll with since=now sees it next time.
    now = runtime.engine.clock()
    # every one (at most MAX_HANDOFFS), so that `limit` keeps the oldest waiting, not the newest
    queued = SessionQuery(status=Status.HANDOFF.value, limit=MAX_HANDOFFS)
    every = await store.list_sessions(queued)
    every.sort(key=lambda s: (s.handoff.since if s.handoff else s.created_at, s.id))
    items = [await _item(store, s, now) for s in every[:limit]]
    changed = [
        i for i in items if since is None or datetime.fromisoformat(i["updated_at"]) >= since
    ]
    return web.json_response(
        {
            "handoffs": changed,
            "ids": [s.id for s in every],
            "total": await store.count_sessions(SessionQuery(status=Status.HANDOFF.value)),
            "now": now.isoformat(),
        }
    )


async def _item(store: QueryStore, session: Session, now: datetime) -> dict[str, Any]:
    """One queued session: who, why, from where, since when, who holds it, what they said."""
    handoff = session.handoff
    assert handoff is not None
    tail = await store.messages(session.id, _TAIL)
    last_in = next((m for m in reversed(tail) if m.direction is Direction.IN), None)
    since_handoff = [m for m in tail if m.created_at >= handoff.since]
    moments = [session.last_activity_at, handoff.since, handoff.taken_at]
    moments += [m.created_at for m in tail[-1:]]
    updated = max(m for m in moments if m is not None)
    return {
        "session_id": session.id,
        "user_id": session.key.user_id,
        "user_masked": display_phone(session.key.user_id),
        "display_name": session.display_name,
        "channel": session.key.channel,
        "bot_id": session.key.bot_id,
        "language": session.language,
        "reason": handoff.reason,
        "flow": handoff.flow_id,
        "step": handoff.step_id,
        "since": iso(handoff.since),
        "waiting_s": round((now - handoff.since).total_seconds(), 1),
        "agent": handoff.agent,
        "taken_at": iso(handoff.taken_at),
        "last_inbound_text": last_in.text if last_in else None,
        "last_inbound_at": iso(last_in.created_at) if last_in else None,
        "last_message_id": tail[-1].id if tail else None,
        "cancel_requested": any((m.payload or {}).get("flag") == "cancel" for m in since_handoff),
        "expires_at": iso(session.expires_at),
        "updated_at": updated.isoformat(),
    }


def _agent(body: dict[str, Any]) -> str:
    """The ``agent`` of a JSON body: 1 to :data:`MAX_AGENT_LENGTH` characters, not blank.

    Raises:
        BadRequest: 400 otherwise.
    """
    agent = body.get("agent")
    if not isinstance(agent, str) or not agent.strip() or len(agent) > MAX_AGENT_LENGTH:
        raise BadRequest(f"agent must be a name of 1-{MAX_AGENT_LENGTH} characters")
    return agent.strip()


def _conflict(exc: SessionAlreadyClosed | NotHandedOff | HeldByAnother) -> web.Response:
    """409 with the reason, the session's status now and, when another agent holds the
    session, who: ``{"error": str, "status": "handoff" | "active" | a closed status,
    "agent": str | None}``."""
    holder = exc.agent if isinstance(exc, HeldByAnother) else None
    body = {"error": str(exc), "status": exc.session.status.value, "agent": holder}
    return web.json_response(body, status=409)


def _found(session: object) -> None:
    if session is None:
        raise BadRequest("no such session", status=404)


def _answer(session: Session) -> web.Response:
    """The session's JSON (its ``handoff`` included)."""
    return web.json_response(session_json(session))


@routes.post("/v1/sessions/{session_id}/handoff")
async def take(request: web.Request) -> web.Response:
    """Take a session: an active one moves to handoff (the user gets the notice), one waiting
    in the queue is assigned; 409 when another agent holds it or it is closed."""
    authorize(request)
    session_id = params.session_id(request)
    body = await params.json_body(request, required=True)
    agent = _agent(body)
    reason = body.get("reason", AGENT_REASON)
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        raise BadRequest("reason must be 1-64 lowercase letters, digits or _, starting a-z")
    try:
        session = await request.app[RUNTIME].engine.take(session_id, agent, reason)
    except (SessionAlreadyClosed, HeldByAnother) as exc:
        return _conflict(exc)
    _found(session)
    assert session is not None
    return _answer(session)


@routes.get("/v1/sessions/{session_id}/messages")
async def messages_after(request: web.Request) -> web.Response:
    """The session's messages with an id above ``after`` (default 0: all), oldest first, at
    most ``limit`` (the oldest of them), with the session's status and holder."""
    authorize(request)
    store = request.app[RUNTIME].store
    session = await store.get(params.session_id(request))
    _found(session)
    assert session is not None
    after = params.whole(request, "after", 0, 2**53)
    limit = params.whole(request, "limit", 200, MAX_MESSAGES)
    every = await store.messages(session.id, MAX_MESSAGES)
    newer = [m for m in every if m.id is not None and m.id > after][:limit]
    return web.json_response(
        {
            "session_id": session.id,
            "status": session.status.value,
            "agent": session.handoff.agent if session.handoff else None,
            "messages": [message_json(m) for m in newer],
        }
    )


@routes.post("/v1/sessions/{session_id}/messages")
async def write(request: web.Request) -> web.Response:
    """An agent's message to the user (202: stored, sent through the outbox); 409 unless the
    session is in handoff and held by nobody else."""
    authorize(request)
    session_id = params.session_id(request)
    body = await params.json_body(request, required=True)
    agent = _agent(body)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_AGENT_TEXT_LENGTH:
        raise BadRequest(f"text must be 1-{MAX_AGENT_TEXT_LENGTH} characters, not blank")
    try:
        stored = await request.app[RUNTIME].engine.write(session_id, agent, text)
    except (SessionAlreadyClosed, NotHandedOff, HeldByAnother) as exc:
        return _conflict(exc)
    _found(stored)
    assert stored is not None
    return web.json_response(_written(stored), status=202)


def _written(stored: MessageRecord) -> dict[str, Any]:
    return {"message_id": stored.id, "session_id": stored.session_id, **message_json(stored)}


@routes.post("/v1/sessions/{session_id}/return")
async def give_back(request: web.Request) -> web.Response:
    """Back to the bot: the flow resumes at its step (asked again), or the bot greets."""
    authorize(request)
    session_id = params.session_id(request)
    body = await params.json_body(request, required=True)
    agent = _agent(body)
    try:
        session = await request.app[RUNTIME].engine.give_back(session_id, agent)
    except (SessionAlreadyClosed, NotHandedOff, HeldByAnother) as exc:
        return _conflict(exc)
    _found(session)
    assert session is not None
    return _answer(session)
