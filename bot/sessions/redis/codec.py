"""Sessions and messages as the Redis store keeps them: hashes and JSON, times as ISO text
and epoch scores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from bot.messages import InboundMessage
from bot.sessions.model import (
    Delivery,
    Handoff,
    MessageRecord,
    Session,
    SessionKey,
    Status,
    message_from_row,
)
from bot.sessions.store import SessionQuery

RANK = {Delivery.PENDING: 0, Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.READ: 3}


def to_iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds") if moment else ""


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def epoch_s(moment: datetime) -> float:
    return moment.timestamp()


def score_text(value: float) -> str:
    """A sorted-set score as Redis reads it back exactly."""
    return repr(value)


def session_hash(session: Session) -> dict[str, str]:
    """The hash fields of a session (``""`` for an absent value)."""
    key = session.key
    return {
        "sessionId": session.id,
        "channel": key.channel,
        "botId": key.bot_id,
        "userId": key.user_id,
        "phoneNumber": f"+{key.user_id}" if key.user_id.isdigit() else key.user_id,
        "displayName": session.display_name or "",
        "status": session.status.value,
        "closeReason": session.close_reason or "",
        "flow": session.flow_id or "",
        "step": session.step_id or "",
        "data": dumps(session.data),
        "language": session.language or "",
        "createdAt": to_iso(session.created_at),
        "lastSeen": to_iso(session.last_activity_at),
        "expiresAt": to_iso(session.expires_at),
        "closedAt": to_iso(session.closed_at),
        "warnedAt": to_iso(session.warned_at),
        "flowVersion": session.flow_version or "",
        "stepRetries": str(session.step_retries),
        "confirming": session.confirming or "",
        "handoff": dumps(session.handoff.to_json()) if session.handoff is not None else "",
    }


def session_from_hash(fields: dict[str, str]) -> Session:
    """Inverse of :func:`session_hash`."""
    created, last = from_iso(fields["createdAt"]), from_iso(fields["lastSeen"])
    assert created is not None and last is not None
    return Session(
        id=fields["sessionId"],
        key=SessionKey(fields["channel"], fields["botId"], fields["userId"]),
        status=Status(fields["status"]),
        close_reason=fields.get("closeReason") or None,
        flow_id=fields.get("flow") or None,
        step_id=fields.get("step") or None,
        data=json.loads(fields.get("data") or "{}"),
        language=fields.get("language") or None,
        display_name=fields.get("displayName") or None,
        created_at=created,
        last_activity_at=last,
        expires_at=from_iso(fields.get("expiresAt")),
        closed_at=from_iso(fields.get("closedAt")),
        warned_at=from_iso(fields.get("warnedAt")),
        flow_version=fields.get("flowVersion") or None,
        step_retries=int(fields.get("stepRetries") or 0),
        confirming=fields.get("confirming") or None,
        handoff=Handoff.from_json(fields.get("handoff")),
    )


def message_json(m: MessageRecord) -> str:
    return dumps(
        {
            "id": m.id,
            "session_id": m.session_id,
            "channel": m.key.channel,
            "bot_id": m.key.bot_id,
            "user_id": m.key.user_id,
            "direction": m.direction.value,
            "kind": m.kind,
            "text": m.text,
            "step_id": m.step_id,
            "created_at": to_iso(m.created_at),
            "provider_id": m.provider_id,
            "status": m.status.value,
            "error_code": m.error_code,
            "error_detail": m.error_detail,
            "payload": m.payload,
            "attempts": m.attempts,
            "next_attempt_at": to_iso(m.next_attempt_at) or None,
            "priority": int(m.priority),
            "notice": m.notice,
        }
    )


def dumps(value: Any) -> str:
    """Compact JSON text: orjson (several times faster), or ``json`` with ASCII escapes for
    the text orjson refuses (lone surrogates, which no UTF-8 encoder takes either)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def message_of(raw: str) -> MessageRecord:
    return message_from_row(json.loads(raw))


def matches_query(session: Session, query: SessionQuery) -> bool:
    """``query``'s filters (but time of creation, applied by the index) on one session."""
    checks = (
        (query.user_id, session.key.user_id),
        (query.status, session.status.value),
        (query.channel, session.key.channel),
        (query.bot_id, session.key.bot_id),
        (query.flow_id, session.flow_id),
    )
    if any(wanted is not None and wanted != actual for wanted, actual in checks):
        return False
    if query.channels and session.key.channel not in query.channels:
        return False
    if query.active_from is not None and session.last_activity_at < query.active_from:
        return False
    return not (query.active_to is not None and session.last_activity_at >= query.active_to)


def user_member(key: SessionKey) -> str:
    return json.dumps([key.channel, key.bot_id, key.user_id])


def hash_of_pairs(flat: Sequence[str]) -> dict[str, str]:
    """A hash from the flat field-value array a script returns for ``HGETALL``."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def key_of(message: InboundMessage) -> SessionKey:
    return SessionKey(message.channel, message.bot_id, message.user_id)


def id_of(m: MessageRecord) -> int:
    assert m.id is not None
    return m.id


def hour_start(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC hour."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
