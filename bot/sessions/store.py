"""The session store interface. Backends: :mod:`bot.sessions.sqlite` (the embedded default)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.channels.base import InboundMessage
from bot.errors import BotError
from bot.sessions.locks import KeyedLock, UserLocks
from bot.sessions.model import Delivery, MessageRecord, Session, SessionKey


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Filters for :meth:`SessionStore.list_sessions` (``None`` means any).

    Time bounds are aware datetimes; ``*_from`` is inclusive and ``*_to`` exclusive.
    ``flow_id`` matches the flow a session is in or, once closed, the flow it was in last.
    """

    user_id: str | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0
    channel: str | None = None
    bot_id: str | None = None
    flow_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    active_from: datetime | None = None
    active_to: datetime | None = None


class SessionStore(abc.ABC):
    """Where sessions and their message history live.

    Inbound messages are first queued durably per user (:meth:`enqueue_inbound`, which also
    drops duplicates by provider id) and only then acknowledged to the provider. Writes that
    belong together go through :meth:`commit` as one transaction, so a session's change, the
    inbound message that caused it (removed from the queue), and the outbound messages it
    produced are stored together or not at all. Times are aware UTC datetimes.

    Backends raise :class:`StoreUnavailable` when they cannot reach their storage.
    """

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection."""

    def user_locks(self) -> UserLocks:
        """The per-user locks that fit this backend (process-local unless overridden)."""
        return KeyedLock()

    @abc.abstractmethod
    async def ping(self) -> None:
        """Check the store answers.

        Raises:
            StoreUnavailable: It does not.
        """

    @abc.abstractmethod
    async def get_active(self, key: SessionKey) -> Session | None:
        """The active session of ``key``, or ``None``."""

    @abc.abstractmethod
    async def get(self, session_id: str) -> Session | None:
        """The session with ``session_id`` (any status), or ``None``."""

    @abc.abstractmethod
    async def seen_inbound(self, channel: str, provider_id: str) -> bool:
        """True when an inbound message with this provider id (wamid) was queued before."""

    @abc.abstractmethod
    async def enqueue_inbound(self, message: InboundMessage) -> bool:
        """Queue ``message`` durably at the end of its user's inbox.

        Returns:
            False, and queues nothing, when a message with the same channel and provider id
            was queued before (idempotency; remembered for at least 7 days).
        """

    @abc.abstractmethod
    async def next_inbound(self, key: SessionKey) -> InboundMessage | None:
        """The oldest queued message of ``key``, left in the queue (``commit`` removes it)."""

    @abc.abstractmethod
    async def inbox_keys(self, limit: int) -> list[SessionKey]:
        """Users that have queued messages (to resume work a crashed worker left)."""

    @abc.abstractmethod
    async def commit(
        self,
        sessions: Sequence[Session],
        messages: Sequence[MessageRecord],
        consumed: InboundMessage | None = None,
    ) -> list[MessageRecord]:
        """Insert or update ``sessions``, insert ``messages`` and remove ``consumed`` from its
        user's inbox, in one transaction.

        Returns:
            The messages with their store ids set, in the given order.

        Raises:
            DuplicateInbound: An inbound message's provider id is already in the history
                (nothing is written).
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

    # --- admin queries (issue #6) ------------------------------------------------------------

    @abc.abstractmethod
    async def count_sessions(self, query: SessionQuery) -> int:
        """How many sessions match ``query``'s filters (``limit`` and ``offset`` ignored)."""

    @abc.abstractmethod
    async def session_stats(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> SessionStats:
        """Aggregates over the sessions created in ``[created_from, created_to)`` (``None``:
        unbounded) and the messages of those sessions. See :class:`SessionStats` for each field.
        """

    @abc.abstractmethod
    async def delete_user(self, bot_id: str, user_id: str) -> DeletedCounts:
        """Delete every session of ``user_id`` at ``bot_id`` on every channel, and every stored
        message of that user at that bot (also those without a session), in one transaction.
        Idempotency records of inbound provider ids may stay. Returns what was deleted.
        """


    # --- retention (issue #5) -----------------------------------------------------------------

    @abc.abstractmethod
    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        """Delete sessions closed before ``closed_before`` with their messages, and inbound
        idempotency records older than 7 days. Active sessions are never touched."""


@dataclass(frozen=True, slots=True)
class FlowStats:
    """Sessions of one flow (``Session.flow_id``, kept after the close).

    Attributes:
        sessions: How many sessions ran the flow.
        by_close_reason: Closed ones by ``close_reason``; still active ones under ``"active"``.
    """

    sessions: int
    by_close_reason: dict[str, int]


@dataclass(frozen=True, slots=True)
class SessionStats:
    """What :meth:`SessionStore.session_stats` returns.

    Attributes:
        sessions: Sessions in scope.
        by_status: Count per :class:`~bot.sessions.model.Status` value (only those present).
        by_close_reason: Count per ``close_reason`` of closed sessions.
        messages_in, messages_out: Messages of the sessions in scope, by direction.
        avg_duration_s: Mean of ``closed_at - created_at`` in seconds over closed sessions
            (``None`` when none is closed).
        avg_messages: Mean number of messages (both directions) per session (``None`` when
            there is no session).
        flows: Per ``flow_id``, for sessions with one.
    """

    sessions: int
    by_status: dict[str, int]
    by_close_reason: dict[str, int]
    messages_in: int
    messages_out: int
    avg_duration_s: float | None
    avg_messages: float | None
    flows: dict[str, FlowStats]


@dataclass(frozen=True, slots=True)
class DeletedCounts:
    """What :meth:`SessionStore.delete_user` removed."""

    sessions: int
    messages: int


class StoreUnavailable(BotError):
    """The store cannot be reached; the caller should answer 503 and let the sender retry."""


class DuplicateInbound(Exception):
    """An inbound message with the same provider id was stored already (idempotency)."""
