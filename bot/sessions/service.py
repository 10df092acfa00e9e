"""Session rules: creation, the inactivity deadline, and closing with a localized notice.

These are the only places that change a session's status, so every close, whatever its cause
(a flow's end, goodbye, cancel, timeout, an operator), produces its notice the same way: the
text ``close.<reason>`` from the session's locale (``close.<status>`` when the reason has no
text of its own), stored as a pending outbound message in the same commit as the close. The
notice comes back with its locale key set (``MessageRecord.notice``, which picks the template
sent outside the 24-hour window): the key is chosen here, in :meth:`SessionService.notice_key`,
and nowhere else.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.locales import Locales
from bot.sessions.model import (
    CloseReason,
    Delivery,
    Direction,
    Handoff,
    MessageRecord,
    Session,
    SessionKey,
    Status,
)

WARNING_KEY = "session.warning"
"""Locale key of the "are you still there?" warning."""
HANDOFF_NOTICE_KEY = "handoff.notice"
"""Locale key of the notice "a person of the team will answer you here"."""
DEFAULT_HANDOFF_TIMEOUT_S = 1440 * 60.0
"""``HANDOFF_TIMEOUT_MINUTES``' default: 24 hours, WhatsApp's customer service window."""
HANDOFF_NOTICE_MARGIN = timedelta(minutes=5)
"""A handoff's deadline is at most 24 hours minus this after the user's last message, so its
close notice still leaves inside WhatsApp's 24-hour window (a free-form message, no template
needed) even with the default timeout of exactly 24 hours."""
MAX_HANDOFF_TIMEOUT = timedelta(hours=24) - HANDOFF_NOTICE_MARGIN


class FlowPolicy(Protocol):
    """What the session rules ask of the running flow (implemented by ``FlowRunner``)."""

    def timeout_s(self, session: Session) -> float | None:
        """The flow's own inactivity timeout in seconds, or ``None`` for the global one."""
        ...

    def timeout_notice(self, session: Session) -> str | None:
        """The flow's own timeout message for ``session``, or ``None`` for ``close.timeout``."""
        ...


class SessionService:
    """Builds and changes :class:`Session` objects; callers commit them to the store.

    Args:
        locales: Texts of the close notices.
        timeout_s: Inactivity, in seconds, after which an active session is due to close.
        notify_timeout: Send the timeout notice (``SESSION_TIMEOUT_NOTIFY``); when False,
            sessions still close on the gap, silently.
        warn_before_s: Seconds before the deadline to send the "are you still there?" warning
            (``SESSION_WARN_BEFORE_MINUTES``); ``None`` sends none.
        policy: The running flow's own timeout and timeout message, when it has them.
        handoff_timeout_s: Inactivity, in seconds, after which a session a person has
            (status ``handoff``) is due to close (``HANDOFF_TIMEOUT_MINUTES``, at most
            :data:`MAX_HANDOFF_TIMEOUT`); it closes with reason ``handoff_timeout`` and its own
            notice, ``close.handoff_timeout``.
    """

    def __init__(
        self,
        locales: Locales,
        timeout_s: float,
        *,
        notify_timeout: bool = True,
        warn_before_s: float | None = None,
        policy: FlowPolicy | None = None,
        handoff_timeout_s: float = DEFAULT_HANDOFF_TIMEOUT_S,
    ) -> None:
        self.locales = locales
        self.handoff_timeout = min(timedelta(seconds=handoff_timeout_s), MAX_HANDOFF_TIMEOUT)
        self.policy = policy
        self.timeout = timedelta(seconds=timeout_s)
        self.notify_timeout = notify_timeout
        self.warn_before = timedelta(seconds=warn_before_s) if warn_before_s else None

    def new_session(self, key: SessionKey, now: datetime, display_name: str | None) -> Session:
        """A new active session for ``key``, starting at ``now``."""
        return Session(
            id=uuid.uuid4().hex,
            key=key,
            status=Status.ACTIVE,
            created_at=now,
            last_activity_at=now,
            expires_at=now + self.timeout,
            display_name=display_name,
        )

    def touch(self, session: Session, now: datetime) -> None:
        """Record user activity at ``now``: the inactivity deadline moves to ``now + timeout``
        (the running flow's ``timeout_minutes`` when it has one; ``HANDOFF_TIMEOUT_MINUTES``
        while a person has it)."""
        session.last_activity_at = now
        session.warned_at = None
        if session.status is Status.HANDOFF:
            session.expires_at = now + self.handoff_timeout
            return
        flow_timeout_s = self.policy.timeout_s(session) if self.policy else None
        session.expires_at = now + (
            timedelta(seconds=flow_timeout_s) if flow_timeout_s else self.timeout
        )

    def expire(self, session: Session, now: datetime) -> MessageRecord | None:
        """Close ``session`` for inactivity; its notice, unless timeout notices are off. A
        session a person has closes with reason ``handoff_timeout`` (its own notice)."""
        reason = (
            CloseReason.HANDOFF_TIMEOUT if session.status is Status.HANDOFF else CloseReason.TIMEOUT
        )
        return self.close(session, Status.TIMEOUT, reason, now, notify=self.notify_timeout)

    def is_warning_due(self, session: Session, now: datetime) -> bool:
        """True when ``session`` should get its warning now: active, not warned for this
        deadline, inside the warning window, and not yet due."""
        return (
            self.warn_before is not None
            and session.status is Status.ACTIVE
            and session.warned_at is None
            and session.expires_at is not None
            and session.expires_at - self.warn_before <= now < session.expires_at
        )

    def warn(self, session: Session, now: datetime) -> MessageRecord:
        """Mark ``session`` warned and return the localized ``session.warning`` notice
        (its ``notice`` key set)."""
        session.warned_at = now
        text = self.locales.text(session.language, WARNING_KEY, session.data)
        notice = self.reply(session, text, now)
        notice.notice = WARNING_KEY
        return notice

    def is_due(self, session: Session, now: datetime) -> bool:
        """True when ``session`` is open (active or in handoff) and its deadline has passed."""
        return (
            session.status.is_open and session.expires_at is not None and session.expires_at <= now
        )

    def language(self, session: Session) -> str:
        """The language replies to ``session`` are written in."""
        return self.locales.language_or_default(session.language)

    def reply(
        self,
        session: Session,
        text: str,
        now: datetime,
        step_id: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> MessageRecord:
        """A pending outbound message of ``text`` to the session's user; with a ``payload`` of
        choices (see ``bot.channels.base.choices_payload``) it is an ``interactive`` one."""
        return MessageRecord(
            session_id=session.id,
            key=session.key,
            direction=Direction.OUT,
            kind="interactive" if payload else "text",
            text=text,
            created_at=now,
            step_id=step_id,
            status=Delivery.PENDING,
            payload=payload,
        )

    def notice_key(self, status: Status, reason: str) -> str:
        """The locale key of the notice for closing with ``status``/``reason``:
        ``close.<reason>`` when the locales have it, else ``close.<status>``."""
        key = f"close.{reason}"
        return key if self.locales.has(key) else f"close.{status.value}"

    def close(
        self, session: Session, status: Status, reason: str, now: datetime, *, notify: bool = True
    ) -> MessageRecord | None:
        """Close ``session`` with ``status`` and ``reason``; return its notice (``None`` if not
        ``notify``), its ``notice`` set to the locale key of :meth:`notice_key`. The notice is
        rendered with the session data as placeholders; a timeout in a flow with its own
        ``timeout_message`` sends that instead of ``close.timeout`` (keyed ``close.timeout``
        still, so the same template serves outside the 24-hour window).

        Raises:
            ValueError: ``status`` is open or the session is already closed.
        """
        if status.is_open:
            raise ValueError("close() needs a final status")
        if not session.status.is_open:
            raise ValueError(f"session {session.id} is already {session.status}")
        flow_notice = (
            self.policy.timeout_notice(session)
            if self.policy is not None and reason == CloseReason.TIMEOUT
            else None
        )
        session.status = status
        session.close_reason = reason
        session.closed_at = now
        session.expires_at = None
        session.step_id = None  # flow_id stays: the flow the session ran (admin filters, stats)
        session.step_retries = 0
        session.confirming = None
        if session.handoff is not None and session.handoff.ended_at is None:
            session.handoff.ended_at = now
        if not notify:
            return None
        key = self.notice_key(status, reason)
        text = flow_notice or self.locales.text(session.language, key, session.data)
        notice = self.reply(session, text, now)
        notice.notice = key
        return notice

    def hand_off(
        self,
        session: Session,
        reason: str,
        now: datetime,
        *,
        step_id: str | None = None,
        agent: str | None = None,
    ) -> MessageRecord:
        """Move the open ``session`` to status ``handoff`` (a person answers from now on) and
        return the localized notice (:data:`HANDOFF_NOTICE_KEY`) to store with it.

        The :class:`Handoff` records ``reason``, ``now``, the flow and ``step_id`` it came from
        (default: the step the session waits at) and ``agent`` when an agent took it; the
        deadline becomes ``now`` + the handoff timeout. ``session.flow_id``/``step_id`` stay:
        where the flow resumes when the bot gets the conversation back (:meth:`give_back`).

        Raises:
            ValueError: The session is not active.
        """
        if session.status is not Status.ACTIVE:
            raise ValueError(f"session {session.id} is {session.status}, not active")
        session.status = Status.HANDOFF
        session.confirming = None
        session.step_retries = 0
        session.handoff = Handoff(
            reason=reason,
            since=now,
            flow_id=session.flow_id,
            step_id=step_id or session.step_id,
            agent=agent,
            taken_at=now if agent else None,
        )
        session.expires_at = now + self.handoff_timeout
        session.warned_at = None
        text = self.locales.text(session.language, HANDOFF_NOTICE_KEY, session.data)
        notice = self.reply(session, text, now)
        notice.notice = HANDOFF_NOTICE_KEY
        return notice

    def give_back(self, session: Session, now: datetime) -> None:
        """End the handoff of ``session``: it is ``active`` again, with the bot's deadline
        from ``now`` (the caller resumes the flow or greets).

        Raises:
            ValueError: The session is not in handoff.
        """
        if session.status is not Status.HANDOFF or session.handoff is None:
            raise ValueError(f"session {session.id} is {session.status}, not in handoff")
        session.status = Status.ACTIVE
        session.handoff.ended_at = now
        self.touch(session, now)
