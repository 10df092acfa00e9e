"""Session rules: creation, the inactivity deadline, and closing with a localized notice.

These are the only places that change a session's status, so every close, whatever its cause
(a flow's end, goodbye, cancel, timeout, an operator), produces its notice the same way: the
text ``close.<reason>`` from the session's locale (``close.<status>`` when the reason has no
text of its own), stored as a pending outbound message in the same commit as the close.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from bot.locales import Locales
from bot.sessions.model import (
    Delivery,
    Direction,
    MessageRecord,
    Session,
    SessionKey,
    Status,
)


class SessionService:
    """Builds and changes :class:`Session` objects; callers commit them to the store.

    Args:
        locales: Texts of the close notices.
        timeout_s: Inactivity, in seconds, after which an active session is due to close.
    """

    def __init__(self, locales: Locales, timeout_s: float) -> None:
        self.locales = locales
        self.timeout = timedelta(seconds=timeout_s)

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
        """Record user activity at ``now``: the inactivity deadline moves to ``now + timeout``."""
        session.last_activity_at = now
        session.expires_at = now + self.timeout

    def is_due(self, session: Session, now: datetime) -> bool:
        """True when ``session`` is active and its deadline has passed."""
        return (
            session.status is Status.ACTIVE
            and session.expires_at is not None
            and session.expires_at <= now
        )

    def language(self, session: Session) -> str:
        """The language replies to ``session`` are written in."""
        return self.locales.language_or_default(session.language)

    def reply(
        self, session: Session, text: str, now: datetime, step_id: str | None = None
    ) -> MessageRecord:
        """A pending outbound message of ``text`` to the session's user."""
        return MessageRecord(
            session_id=session.id,
            key=session.key,
            direction=Direction.OUT,
            kind="text",
            text=text,
            created_at=now,
            step_id=step_id,
            status=Delivery.PENDING,
        )

    def notice_key(self, status: Status, reason: str) -> str:
        """The locale key of the notice for closing with ``status``/``reason``."""
        key = f"close.{reason}"
        return key if self.locales.has(key) else f"close.{status.value}"

    def close(
        self, session: Session, status: Status, reason: str, now: datetime, *, notify: bool = True
    ) -> MessageRecord | None:
        """Close ``session`` with ``status`` and ``reason``; return its notice (``None`` if not
        ``notify``). The notice is rendered with the session data as placeholders.

        Raises:
            ValueError: ``status`` is ``ACTIVE`` or the session is already closed.
        """
        if status is Status.ACTIVE:
            raise ValueError("close() needs a final status")
        if session.status is not Status.ACTIVE:
            raise ValueError(f"session {session.id} is already {session.status}")
        session.status = status
        session.close_reason = reason
        session.closed_at = now
        session.expires_at = None
        session.flow_id = session.step_id = None
        if not notify:
            return None
        text = self.locales.text(session.language, self.notice_key(status, reason), session.data)
        return self.reply(session, text, now)
