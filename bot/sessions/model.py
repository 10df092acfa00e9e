"""Session and message records, as the store holds them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any


class Status(StrEnum):
    """Session status; ``ACTIVE`` and ``HANDOFF`` are open (:attr:`is_open`), every other one
    is final."""

    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    HANDOFF = "handoff"
    """A person (an agent) has the conversation: the bot does not answer (see
    :class:`Handoff`)."""

    @property
    def is_open(self) -> bool:
        """True for ``ACTIVE`` and ``HANDOFF``: the user's current session, with a deadline."""
        return self in OPEN_STATUSES


class CloseReason(StrEnum):
    """Built-in close reasons; flows may name their own (``end: order_placed``)."""

    GOODBYE = "goodbye"
    CANCEL = "cancel"
    TIMEOUT = "timeout"
    CREDENTIALS_DELIVERED = "credentials_delivered"
    OPTED_OUT = "opted_out"
    """The user asked for no more messages (WhatsApp's opt-out); closed silently."""
    HANDOFF_TIMEOUT = "handoff_timeout"
    """Nobody wrote for ``HANDOFF_TIMEOUT_MINUTES`` while a person had the conversation."""


OPEN_STATUSES = frozenset({Status.ACTIVE, Status.HANDOFF})
"""The statuses of a user's current session (one per :class:`SessionKey` at most)."""


@dataclass(frozen=True, slots=True)
class SessionKey:
    """Whose conversation: one active session per key.

    Attributes:
        channel: ``"whatsapp"``.
        bot_id: The business phone number id.
        user_id: The user's id on the channel (WhatsApp wa_id).
    """

    channel: str
    bot_id: str
    user_id: str


@dataclass(slots=True)
class Handoff:
    """The latest handoff of a session to a person (kept after it ends, for the statistics).

    Attributes:
        reason: Why: ``user_request`` (the ``handoff`` intent), ``agent`` (an agent took an
            active session), or the flow action's ``reason``.
        since: When the session moved to status ``handoff`` (aware UTC).
        flow_id, step_id: Where it came from: the flow and the step the user was at (the
            question waiting, or the step whose ``handoff`` action ran); ``None`` outside a
            flow.
        agent: Who holds the conversation (``None``: waiting in the queue).
        taken_at: When ``agent`` took it.
        first_reply_at: When an agent's first message to the user was stored.
        ended_at: When it went back to the bot or closed (``None`` while in handoff).
    """

    reason: str
    since: datetime
    flow_id: str | None = None
    step_id: str | None = None
    agent: str | None = None
    taken_at: datetime | None = None
    first_reply_at: datetime | None = None
    ended_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object both stores keep (times ISO 8601 UTC)."""
        return {
            "reason": self.reason,
            "since": _iso(self.since),
            "flow_id": self.flow_id,
            "step_id": self.step_id,
            "agent": self.agent,
            "taken_at": _iso(self.taken_at),
            "first_reply_at": _iso(self.first_reply_at),
            "ended_at": _iso(self.ended_at),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | str | None) -> Handoff | None:
        """Inverse of :meth:`to_json` (also from its JSON text); ``None`` for none."""
        if not raw:
            return None
        data = json.loads(raw) if isinstance(raw, str) else raw
        return cls(
            reason=data["reason"],
            since=datetime.fromisoformat(data["since"]),
            flow_id=data.get("flow_id"),
            step_id=data.get("step_id"),
            agent=data.get("agent"),
            taken_at=_time(data.get("taken_at")),
            first_reply_at=_time(data.get("first_reply_at")),
            ended_at=_time(data.get("ended_at")),
        )


def _iso(value: datetime | None) -> str | None:
    """Sortable ISO 8601 UTC, as the stores write times."""
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(slots=True)
class Session:
    """One conversation, from the first message to its close.

    Attributes:
        id: Opaque unique id (hex).
        key: Whose conversation.
        status: See :class:`Status`.
        close_reason: Why it closed (``goodbye``, ``cancel``, ``timeout``, a flow's reason).
        flow_id, step_id: Where the user is in a flow (``None`` outside a flow); once the
            session is closed, ``step_id`` is ``None`` and ``flow_id`` names the flow it ran.
        data: Collected slot values and action results (JSON-serializable).
        language: The reply language, once known.
        display_name: The user's profile name, when the channel gives it.
        created_at, last_activity_at, closed_at: Aware UTC datetimes.
        expires_at: Inactivity deadline (UTC) of an active session; ``None`` once closed.
        warned_at: When the "are you still there?" warning was sent for the current deadline
            (``None``: not yet; reset by every inbound message).
        flow_version: The version of ``flow_id`` the conversation runs (it keeps it when the
            flow file is edited under a running service).
        step_retries: Invalid answers given so far to the question at ``step_id``.
        confirming: The closing intent (``goodbye`` or ``cancel``) the engine asked the user
            to confirm with a yes/no question, until they answer (``None``: nothing asked).
        handoff: The latest handoff to a person (status ``handoff`` while it lasts; kept
            after it ends); ``None`` when there was none. While in handoff, ``flow_id`` and
            ``step_id`` are where the flow resumes when the bot gets the conversation back.
    """

    id: str
    key: SessionKey
    status: Status
    created_at: datetime
    last_activity_at: datetime
    expires_at: datetime | None
    close_reason: str | None = None
    flow_id: str | None = None
    step_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    display_name: str | None = None
    closed_at: datetime | None = None
    warned_at: datetime | None = None
    flow_version: str | None = None
    step_retries: int = 0
    confirming: str | None = None
    handoff: Handoff | None = None


class Direction(StrEnum):
    """Message direction."""

    IN = "in"
    OUT = "out"


class Delivery(StrEnum):
    """Status of a stored message: ``received`` for inbound; the rest for outbound.

    ``skipped_window``: not sent because the user's 24-hour customer service window had
    closed and no template was configured for it (final, like ``failed``).
    ``skipped_opt_out``: a proactive message (a warning, a timeout notice, a template) not
    sent because the user opted out of messages (final).
    ``sending``: an attempt started (recorded before the request leaves); its result is not
    stored yet. One a dead process left ``sending`` goes back to ``pending`` (its
    ``error_detail`` :data:`INTERRUPTED_DETAIL`) and waits ``DELIVERY_INTERRUPTED_GRACE_SECONDS``
    for the provider's status webhook naming it (then it is ``sent``); without one it is sent
    again (at least once).
    """

    RECEIVED = "received"
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    SKIPPED_WINDOW = "skipped_window"
    SENDING = "sending"
    SKIPPED_OPT_OUT = "skipped_opt_out"


INTERRUPTED_DETAIL = "the service stopped during the attempt; waiting for the provider's status"
"""``error_detail`` of a message a dead process left ``sending``, pending again until its
status webhook settles it or the grace ends (then it is sent again)."""


class Priority(IntEnum):
    """Which outbound messages leave first when a business number's rate is the limit."""

    REPLY = 0
    """Answers to a user who just wrote (also the notice of a close the user caused)."""
    BULK = 1
    """Notices nobody is waiting for: timeouts and warnings from the sweeper."""


@dataclass(slots=True)
class MessageRecord:
    """One message of the history.

    Attributes:
        id: Store-assigned id (``None`` until stored).
        session_id: The session it belongs to; ``None`` for an inbound reaction/system message
            that arrived with no active session.
        key: Whose conversation.
        direction: In (from the user) or out (to the user).
        kind: ``text``, ``interactive``, ``media``, ``reaction``, ... (inbound kinds), or
            ``text`` for outbound.
        text: The text, when there is one.
        step_id: The flow step that produced (out) or received (in) it.
        created_at: Aware UTC datetime.
        provider_id: The wamid (inbound: the user's message id; outbound: returned on send).
        status: See :class:`Delivery`.
        error_code: Provider error code for a failed send (or the last failed attempt).
        error_detail: Provider error text for a failed send (or the last failed attempt).
        payload: Structured content (the choices of a question), see
            ``bot.channels.base.choices_payload``.
        attempts: Outbound: sends tried so far.
        next_attempt_at: Outbound, pending: not to be sent before this (UTC; ``None``: now).
        priority: Outbound: see :class:`Priority`.
        notice: Outbound notices: the locale key they were written from (``close.timeout``,
            ``session.warning``); picks the template sent outside the 24-hour window.
    """

    session_id: str | None
    key: SessionKey
    direction: Direction
    kind: str
    text: str | None
    created_at: datetime
    step_id: str | None = None
    provider_id: str | None = None
    status: Delivery = Delivery.RECEIVED
    error_code: int | None = None
    error_detail: str | None = None
    payload: dict[str, Any] | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    priority: Priority = Priority.REPLY
    notice: str | None = None
    id: int | None = None


def message_from_row(row: Mapping[str, Any]) -> MessageRecord:
    """Rebuild a :class:`MessageRecord` from its flat form, shared by the stores.

    ``row`` has the columns of SQLite's ``messages`` table (the same keys as the JSON the
    Redis store keeps): ``channel``, ``bot_id``, ``user_id`` for the key; times as ISO 8601
    strings; ``payload`` as a dict or as JSON text. Keys added after the first release
    (``attempts``, ``next_attempt_at``, ``priority``, ``notice``, ``payload``) may be missing.

    Raises:
        KeyError, ValueError: ``row`` is not such a form.
    """
    payload = row.get("payload")
    next_attempt = row.get("next_attempt_at")
    return MessageRecord(
        id=row["id"],
        session_id=row["session_id"],
        key=SessionKey(row["channel"], row["bot_id"], row["user_id"]),
        direction=Direction(row["direction"]),
        kind=row["kind"],
        text=row["text"],
        step_id=row["step_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        provider_id=row["provider_id"],
        status=Delivery(row["status"]),
        error_code=row["error_code"],
        error_detail=row["error_detail"],
        payload=json.loads(payload) if isinstance(payload, str) else payload,
        attempts=row.get("attempts") or 0,
        next_attempt_at=datetime.fromisoformat(next_attempt) if next_attempt else None,
        priority=Priority(row.get("priority") or 0),
        notice=row.get("notice"),
    )
