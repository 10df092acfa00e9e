"""The session store interface. Backends: :mod:`bot.sessions.sqlite` (the embedded default)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.sessions.model import Delivery, MessageRecord, Session, SessionKey


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Filters for :meth:`SessionStore.list_sessions` (``None`` means any)."""

    user_id: str | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0


class SessionStore(abc.ABC):
    """Where sessions and their message history live.

    Writes that belong together go through :meth:`commit` as one transaction, so a session's
    change, the inbound message that caused it and the outbound messages it produced are stored
    together or not at all. Times are aware UTC datetimes.
    """

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection."""

    @abc.abstractmethod
    async def get_active(self, key: SessionKey) -> Session | None:
        """The active session of ``key``, or ``None``."""

    @abc.abstractmethod
    async def get(self, session_id: str) -> Session | None:
        """The session with ``session_id`` (any status), or ``None``."""

    @abc.abstractmethod
    async def seen_inbound(self, channel: str, provider_id: str) -> bool:
        """True when an inbound message with this provider id (wamid) is already stored."""

    @abc.abstractmethod
    async def commit(
        self,
        sessions: Sequence[Session],
        messages: Sequence[MessageRecord],
    ) -> list[MessageRecord]:
        """Insert or update ``sessions`` and insert ``messages``, in one transaction.

        Returns:
            The messages with their store ids set, in the given order.

        Raises:
            DuplicateInbound: An inbound message's provider id is already stored (nothing is
                written).
        """

    @abc.abstractmethod
    async def due_sessions(self, now: datetime, limit: int) -> list[Session]:
        """Active sessions whose ``expires_at`` is at or before ``now``, oldest deadline first."""

    @abc.abstractmethod
    async def pending_outbound(self, limit: int) -> list[MessageRecord]:
        """Outbound messages not yet handed to the provider, oldest first."""

    @abc.abstractmethod
    async def mark_outbound(
        self,
        message_id: int,
        status: Delivery,
        provider_id: str | None = None,
        error_code: int | None = None,
        error_detail: str | None = None,
    ) -> None:
        """Record the result of sending stored message ``message_id``."""

    @abc.abstractmethod
    async def update_delivery(
        self,
        provider_id: str,
        status: Delivery,
        error_code: int | None = None,
        error_detail: str | None = None,
    ) -> bool:
        """Apply a provider status callback to the outbound message with ``provider_id``.

        A status never moves backwards (``read`` stays ``read`` when a late ``delivered``
        arrives); ``failed`` always applies. Returns False when no such message is stored.
        """

    @abc.abstractmethod
    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        """Sessions matching ``query``, newest first."""

    @abc.abstractmethod
    async def messages(self, session_id: str, limit: int = 200) -> list[MessageRecord]:
        """The message history of a session, oldest first, at most ``limit`` (the newest)."""


class DuplicateInbound(Exception):
    """An inbound message with the same provider id was stored already (idempotency)."""
