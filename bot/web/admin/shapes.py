"""The JSON shapes the admin API answers with: a session, a listed session, a history
message (:mod:`bot.web.openapi.schemas` declares them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.privacy import mask_phone
from bot.sessions.model import Handoff, MessageRecord, Session
from bot.sessions.store import QueryStore, SessionLookup


def iso(value: datetime | None) -> str | None:
    """``value`` in ISO 8601 (``None`` stays ``None``)."""
    return value.isoformat() if value is not None else None


def session_json(session: Session, opted_out_at: datetime | None = None) -> dict[str, Any]:
    """The public JSON shape of a session; ``opted_out_at``: when its user opted out of
    messages (``SessionLookup.opted_out_at``), ``None`` when they did not."""
    return {
        "id": session.id,
        "channel": session.key.channel,
        "bot_id": session.key.bot_id,
        "user_id": session.key.user_id,
        "user_masked": display_phone(session.key.user_id),
        "display_name": session.display_name,
        "status": session.status.value,
        "close_reason": session.close_reason,
        "flow_id": session.flow_id,
        "step_id": session.step_id,
        "language": session.language,
        "data": session.data,
        "created_at": iso(session.created_at),
        "last_activity_at": iso(session.last_activity_at),
        "expires_at": iso(session.expires_at),
        "closed_at": iso(session.closed_at),
        "confirming": session.confirming,
        "handoff": handoff_json(session.handoff),
        "opted_out": opted_out_at is not None,
        "opted_out_at": iso(opted_out_at),
    }


async def sessions_json(store: SessionLookup, sessions: list[Session]) -> list[dict[str, Any]]:
    """:func:`session_json` of each of ``sessions``, with their users' opt-outs (one query)."""
    opted = await store.opt_outs([s.key for s in sessions])
    return [session_json(s, opted.get(s.key)) for s in sessions]


def display_phone(user_id: str) -> str:
    """The user's number masked as in the logs, always with ``+`` (Cloud API ids are bare
    digits): ``"5491155550089"`` → ``"+54911****89"``."""
    return mask_phone(f"+{user_id}" if user_id.isdigit() else user_id)


async def listed_json(store: QueryStore, sessions: list[Session]) -> list[dict[str, Any]]:
    """Sessions as listed: :func:`session_json` plus ``messages_in``, ``messages_out`` and
    ``last_message_at`` (``null`` without messages)."""
    summaries = await store.message_summaries([s.id for s in sessions])
    opted = await store.opt_outs([s.key for s in sessions])
    out = []
    for session in sessions:
        summary = summaries.get(session.id)
        out.append(
            {
                **session_json(session, opted.get(session.key)),
                "messages_in": summary.messages_in if summary else 0,
                "messages_out": summary.messages_out if summary else 0,
                "last_message_at": iso(summary.last_message_at) if summary else None,
            }
        )
    return out


def message_json(message: MessageRecord) -> dict[str, Any]:
    """The public JSON shape of a history message."""
    return {
        "id": message.id,
        "direction": message.direction.value,
        "kind": message.kind,
        "text": message.text,
        "step_id": message.step_id,
        "created_at": iso(message.created_at),
        "provider_id": message.provider_id,
        "status": message.status.value,
        "error_code": message.error_code,
        "error_detail": message.error_detail,
        "attempts": message.attempts,
        "next_attempt_at": iso(message.next_attempt_at),
        "agent": _payload_text(message, "agent"),
        "flag": _payload_text(message, "flag"),
    }


def _payload_text(message: MessageRecord, name: str) -> str | None:
    """``payload[name]`` when it is a text: ``agent`` (an agent's message), ``flag``
    (``cancel``: asked while a person had the session)."""
    value = (message.payload or {}).get(name)
    return value if isinstance(value, str) else None


def handoff_json(handoff: Handoff | None) -> dict[str, Any] | None:
    """The public JSON shape of a session's latest handoff (``None``: never handed off)."""
    if handoff is None:
        return None
    return {
        "reason": handoff.reason,
        "since": iso(handoff.since),
        "flow": handoff.flow_id,
        "step": handoff.step_id,
        "agent": handoff.agent,
        "taken_at": iso(handoff.taken_at),
        "first_reply_at": iso(handoff.first_reply_at),
        "ended_at": iso(handoff.ended_at),
    }
