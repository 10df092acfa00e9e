"""The session store's interfaces, one per concern, and the one store of each backend that is all of
them. Backends: :mod:`bot.sessions.sqlite` (the embedded default), :mod:`bot.sessions.redis`."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.errors import BotError
from bot.messages import InboundMessage
from bot.sessions.locks import KeyedLock, UserLocks
from bot.sessions.model import Delivery, MessageRecord, Session, SessionKey
from bot.sessions.slots import LocalSendSlots, SendSlots

WRITE_PROBE_TIMEOUT_S = 2.0
"""How long :meth:`SessionStore.check_writable` waits for its probe write."""


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Filters for :meth:`SessionStore.list_sessions` (``None`` means any).

    Time bounds are aware datetimes; ``*_from`` is inclusive and ``*_to`` exclusive.
    ``flow_id`` matches the flow a session is in or, once closed, the flow it was in last.
    ``channels`` matches any of several channels (``()``: any); ``channel`` must match too.
    ``opted_out`` matches sessions whose user is (True) or is not (False) opted out of
    messages now (see :meth:`SessionStore.set_opt_out`).
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
    channels: tuple[str, ...] = ()
    opted_out: bool | None = None


class SessionLookup(abc.ABC):
    """What every part of the bot reads of a session and its user: a session by id, and
    whether its user opted out of messages."""

    @abc.abstractmethod
    async def get(self, session_id: str) -> Session | None:
        """The session with ``session_id`` (any status), or ``None``."""

    @abc.abstractmethod
    async def opt_outs(self, keys: Sequence[SessionKey]) -> dict[SessionKey, datetime]:
        """When each of ``keys``' users opted out; users not opted out are left out."""

    async def opted_out_at(self, key: SessionKey) -> datetime | None:
        """When ``key``'s user opted out of messages, or ``None`` when they did not."""
        return (await self.opt_outs([key])).get(key)


class ConversationStore(SessionLookup):
    """A conversation's state: the active session of each user, their inbox, and a turn's
    :meth:`commit` (what the engine and the sweeper use).

    Inbound messages are first queued durably per user (:meth:`enqueue_inbound`, which also
    drops duplicates by provider id) and only then acknowledged to the provider. Writes that
    belong together go through :meth:`commit` as one transaction, so a session's change, the
    inbound message that caused it (removed from the queue), and the outbound messages it
    produced are stored together or not at all. Times are aware UTC datetimes."""

    def user_locks(self) -> UserLocks:
        """The per-user locks that fit this backend (process-local unless overridden)."""
        return KeyedLock()

    @abc.abstractmethod
    async def get_active(self, key: SessionKey) -> Session | None:
        """The active session of ``key``, or ``None``. The caller changes it only under the
        user's lock, and commits it or calls :meth:`forget_cached`."""

    def forget_cached(self, key: SessionKey) -> None:
        """Forget what is kept in memory of ``key``'s active session: the caller changed the
        object :meth:`get_active` returned but will not commit it. (A backend that keeps
        nothing in memory does nothing.)"""
        return None

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
    async def set_opt_out(self, key: SessionKey, at: datetime | None) -> None:
        """Record that ``key``'s user opted out of messages at ``at`` (WhatsApp's opt-out:
        no proactive message reaches them), or with ``None`` that they opted back in.
        Kept across sessions (and :meth:`delete_user`: a compliance record) until the user
        opts back in; opting out again records the later time."""


class OutboxStore(SessionLookup):
    """The outbox: outbound messages waiting to be sent, the results of sending them, and
    the provider's delivery statuses (what :class:`~bot.delivery.outbox.Outbox` uses)."""

    single_process: bool = False
    """True when this process is the store's only writer (the embedded SQLite file): the
    outbox may then send the messages it was just handed without reading them back."""

    def outbox_locks(self) -> UserLocks:
        """Per-user locks of the outbound sender (one sender per user at a time, so a user's
        messages leave in order; process-local unless overridden)."""
        return KeyedLock()

    def send_slots(self) -> SendSlots:
        """The pacing state of each business number (process-local unless overridden, so
        several workers share one rate)."""
        return LocalSendSlots()

    @abc.abstractmethod
    async def pending_outbound(
        self, limit: int, due_by: datetime | None = None
    ) -> list[MessageRecord]:
        """Outbound messages not yet handed to the provider, oldest first.

        With ``due_by``, only the messages whose turn it is: the oldest pending message of
        each user, when its ``next_attempt_at`` is unset or at or before ``due_by`` (what the
        sender can send now without overtaking an earlier message of the same user).
        """

    async def pending_users(self, limit: int, due_by: datetime) -> list[tuple[SessionKey, int]]:
        """The users :meth:`pending_outbound` with ``due_by`` finds, with the priority of the
        message whose turn it is: what the sender's periodic look needs (a backend may answer
        it without reading whole messages)."""
        return [(m.key, int(m.priority)) for m in await self.pending_outbound(limit, due_by)]

    @abc.abstractmethod
    async def pending_for(self, key: SessionKey, limit: int) -> list[MessageRecord]:
        """The pending outbound messages of ``key``, oldest first (the first one is the next
        to send, whatever its ``next_attempt_at``)."""

    @abc.abstractmethod
    async def mark_outbound(
        self,
        message_id: int,
        status: Delivery,
        provider_id: str | None = None,
        error_code: int | None = None,
        error_detail: str | None = None,
        *,
        attempts: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Record the result of sending stored message ``message_id``.

        With ``status`` ``PENDING`` it stays in the outbox for another attempt at
        ``next_attempt_at``; ``attempts`` (when given) replaces the count of sends tried.
        With ``SENDING`` (an attempt starts; stored before the request) it stays where the
        holder of the user's sender lock finds it (:meth:`pending_for`) on stores shared by
        several processes; a single-process store hands it back in :meth:`resume_interrupted`.
        """

    async def resume_interrupted(self, retry_at: datetime) -> list[MessageRecord]:
        """Single-process stores, at the sender's start: every message a previous run left
        ``sending`` (it died during the attempt) is ``pending`` again, its ``error_detail``
        :data:`~bot.sessions.model.INTERRUPTED_DETAIL`, due at ``retry_at`` (the end of the
        grace for its status webhook); returns them. Stores shared by several processes
        return ``[]``: there the holder of a user's sender lock finds such a message in
        :meth:`pending_for` and does the same."""
        return []

    @abc.abstractmethod
    async def settle_by_status(
        self, message_id: int, bot_id: str, provider_id: str
    ) -> MessageRecord | None:
        """A provider status named our outbound message ``message_id`` (sent from ``bot_id``)
        with its ``provider_id``: when it is still ``pending`` or ``sending`` and was attempted
        (``attempts`` > 0: a stale status naming a reused id cannot settle a message never
        sent), record it ``sent`` with that id (its later statuses then find it,
        :meth:`update_delivery`).

        Returns:
            The message as it was before (its status and ``error_detail`` then), or None when
            there is no such outbound message of ``bot_id`` or it was settled already.
        """

    @abc.abstractmethod
    async def last_inbound_at(self, key: SessionKey) -> datetime | None:
        """When ``key``'s user last wrote (``created_at`` of their newest stored inbound
        message other than a system message), or ``None`` when nothing is stored: this opens
        WhatsApp's 24-hour customer service window."""

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


class QueryStore(SessionLookup):
    """Read-only queries of the admin API and the dashboard: lists, counts, statistics."""

    @abc.abstractmethod
    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        """Sessions matching ``query``, newest first."""

    @abc.abstractmethod
    async def messages(self, session_id: str, limit: int = 200) -> list[MessageRecord]:
        """The message history of a session, oldest first, at most ``limit`` (the newest)."""

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
    async def message_summaries(self, session_ids: Sequence[str]) -> dict[str, MessageSummary]:
        """Per session id: its messages in and out and when the newest stored one was created.
        Sessions without messages (or unknown ids) are left out."""

    @abc.abstractmethod
    async def hourly_activity(self, since: datetime, until: datetime) -> HourlyActivity:
        """Sessions created, and sessions closed by ``close_reason``, in ``[since, until)``,
        per UTC hour (see :class:`HourlyActivity`)."""

    @abc.abstractmethod
    async def flow_exits(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> list[StepExit]:
        """Where the sessions created in ``[created_from, created_to)`` that ran a flow are
        (active ones) or stopped (closed ones), counted per flow, step and outcome (see
        :class:`StepExit`); one row per combination that occurs, in no particular order."""


class MaintenanceStore(abc.ABC):
    """The store's life and upkeep: open and close, health probes, retention, erasure."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Check the store answers.

        Raises:
            StoreUnavailable: It does not.
        """

    async def check_writable(self, timeout_s: float = WRITE_PROBE_TIMEOUT_S) -> None:
        """Check the store accepts a write: write a probe record and wait for it to be durable,
        at most ``timeout_s`` seconds (readiness: a store that answers reads may refuse
        writes, such as a read-only SQLite file or a Redis that cannot save).

        Raises:
            StoreUnavailable: The write failed or did not finish in time.
        """
        try:
            async with asyncio.timeout(timeout_s):
                await self._write_probe()
        except TimeoutError as exc:
            raise StoreUnavailable(f"no write finished in {timeout_s:g} s") from exc

    @abc.abstractmethod
    async def _write_probe(self) -> None:
        """Write (overwrite) one small probe record.

        Raises:
            StoreUnavailable: The write failed.
        """

    @abc.abstractmethod
    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        """Delete sessions closed before ``closed_before`` with their messages, and inbound
        idempotency records older than 7 days. Active sessions are never touched."""

    @abc.abstractmethod
    async def delete_user(self, bot_id: str, user_id: str) -> DeletedCounts:
        """Delete every session of ``user_id`` at ``bot_id`` on every channel, and every stored
        message of that user at that bot (also those without a session), in one transaction.
        Idempotency records of inbound provider ids may stay. Returns what was deleted.
        """


class MessagingStore(ConversationStore, OutboxStore):
    """A conversation's state and its outbox: what the engine uses (a turn, and the delivery
    statuses it applies)."""


class SessionStore(MessagingStore, QueryStore, MaintenanceStore):
    """Where sessions and their message history live: one object per backend that is every
    interface above (each consumer is typed with the narrow one it uses). Times are aware
    UTC datetimes.

    Backends raise :class:`StoreUnavailable` when they cannot reach their storage.
    """


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
        handoffs: Sessions handed to a person (their latest handoff), per reason and the flow
            and step they came from; one row per combination that occurs, in no order.
    """

    sessions: int
    by_status: dict[str, int]
    by_close_reason: dict[str, int]
    messages_in: int
    messages_out: int
    avg_duration_s: float | None
    avg_messages: float | None
    flows: dict[str, FlowStats]
    handoffs: tuple[HandoffCount, ...] = ()


@dataclass(frozen=True, slots=True)
class HandoffCount:
    """Sessions handed to a person (``Session.handoff``) with one reason, from one place.

    Attributes:
        reason: ``Handoff.reason``.
        flow_id, step_id: Where they came from (``None``: outside a flow).
        sessions: How many.
        replied: How many of them got an agent's message.
        first_reply_s: Sum over those ``replied`` of the seconds from the handoff to the first
            agent message (divide by ``replied`` for the mean).
    """

    reason: str
    flow_id: str | None
    step_id: str | None
    sessions: int
    replied: int = 0
    first_reply_s: float = 0.0


@dataclass(frozen=True, slots=True)
class DeletedCounts:
    """What :meth:`SessionStore.delete_user` removed."""

    sessions: int
    messages: int


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """What :meth:`SessionStore.message_summaries` tells of one session's history.

    Attributes:
        messages_in, messages_out: Messages from and to the user.
        last_message_at: ``created_at`` of the newest stored message (aware UTC).
    """

    messages_in: int
    messages_out: int
    last_message_at: datetime


@dataclass(frozen=True, slots=True)
class HourlyActivity:
    """What :meth:`SessionStore.hourly_activity` returns; only hours with events appear.

    Attributes:
        opened: Sessions created, per UTC hour (keyed by the hour's start, aware UTC).
        closed: Sessions closed (``closed_at``), per UTC hour, per ``close_reason``.
    """

    opened: dict[datetime, int]
    closed: dict[datetime, dict[str, int]]


@dataclass(frozen=True, slots=True)
class StepExit:
    """How many sessions of one flow are at, or stopped at, one step with one outcome.

    Attributes:
        flow_id: ``Session.flow_id`` (kept after the close).
        step_id: For an active session, the step it waits at (``Session.step_id``); for a
            closed one, the step of its newest message that has one (the question the user
            left unanswered, or answered with goodbye or cancel). ``None`` when there is none.
        outcome: The ``close_reason``, or ``"active"`` for a session still open.
        sessions: How many.
    """

    flow_id: str
    step_id: str | None
    outcome: str
    sessions: int


class StoreUnavailable(BotError):
    """The store cannot be reached; the caller should answer 503 and let the sender retry."""


class DuplicateInbound(BotError):
    """An inbound message with the same provider id was stored already (idempotency)."""
