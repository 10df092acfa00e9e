"""The one background task that closes sessions whose inactivity deadline has passed.

There is no timer per session: deadlines (``expires_at``) live in the store, and the sweeper
asks for the due ones every ``interval_s`` seconds. Each is re-read and closed under its user's
lock, so a message that arrives at the same moment either keeps the session alive or finds it
closed, never both. A session that expired while the service was down is closed on the first
sweep after start-up, and notified once. Notices are stored with the close and handed to the
outbox as bulk messages: paced, and sent after the replies to users who are waiting.

Due sessions are closed in batches: the sweeper takes the locks of a batch's users at once
(on Redis in one script, skipping users whose lock someone holds: the next sweep tries them
again), re-reads the due sessions while holding them, and commits the closes and their notices
together (one transaction per :data:`COMMIT_CHUNK` closes). A crash before a commit leaves those
sessions due for the next sweep; after it, their notices are pending in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.clock import Clock
from bot.metrics import NO_METRICS, Metrics
from bot.sessions.events import session_event
from bot.sessions.locks import UserLocks
from bot.sessions.model import CloseReason, MessageRecord, Priority, Session, Status
from bot.sessions.service import SessionService
from bot.sessions.store import ConversationStore
from bot.tasks import periodic

log = logging.getLogger(__name__)

COMMIT_CHUNK = 100
"""Closes (each with its notice) committed in one transaction."""


@runtime_checkable
class BatchLocks(Protocol):
    """Locks that can take many users at once without waiting (``RedisUserLocks``)."""

    def hold_free(self, keys: Sequence[Hashable]) -> AbstractAsyncContextManager[list[Hashable]]:
        """Hold the locks of those ``keys`` that are free now; yields the keys held."""
        ...


class Submits(Protocol):
    """Where the sweeper hands the notices it just committed: the outbox
    (:meth:`bot.delivery.outbox.Outbox.submit`), passed in by wiring, so that the sessions
    layer does not import the delivery layer above it."""

    async def submit(self, records: Iterable[MessageRecord]) -> None:
        """Have the pending ones of ``records`` (just committed) sent."""
        ...


class Sweeper:
    """Closes due sessions with a timeout notice.

    Args:
        store, outbox, locks: Shared with the conversation engine.
        service: The session rules, or where to read the current ones: the engine's content
            snapshot (``lambda: engine.content.service``), read once per batch, so a batch's
            notices all come from one version of the texts, even across a hot reload.
        clock: Current time (injected; tests move it instead of sleeping).
        interval_s: Seconds between sweeps in :meth:`run`.
        batch: How many due sessions one query fetches (and one batch locks and closes).
        metrics: Receives the lag of each sweep and every close.
    """

    def __init__(
        self,
        store: ConversationStore,
        service: SessionService | Callable[[], SessionService],
        outbox: Submits,
        locks: UserLocks,
        clock: Clock,
        interval_s: float = 1.0,
        batch: int = 500,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self._service = service
        self.outbox = outbox
        self.locks = locks
        self.clock = clock
        self.interval_s = interval_s
        self.batch = batch
        self.metrics = metrics

    @property
    def service(self) -> SessionService:
        """The session rules of the content served now."""
        return self._service if isinstance(self._service, SessionService) else self._service()

    async def run_once(self) -> int:
        """Warn the sessions inside their warning window (when warnings are on), then close
        every session due now. Returns how many this call closed."""
        if self.service.warn_before is not None:
            await self.warn_once()
        closed = 0
        while True:
            now = self.clock()
            due = await self.store.due_sessions(now, self.batch)
            if closed == 0:  # the lag is measured once per sweep, at its first query
                oldest = due[0].expires_at if due else None
                self.metrics.sweeper_lag((now - oldest).total_seconds() if oldest else 0.0)
            if not due:
                return closed
            done = await self._expire(due)
            closed += done
            if done == 0:  # every due one was taken by someone else; do not spin
                return closed

    async def warn_once(self) -> int:
        """Send the "are you still there?" warning to each session whose deadline is within
        the warning window, once per deadline. Returns how many were warned."""
        service = self.service  # one version of the texts for the whole batch
        assert service.warn_before is not None
        window = service.warn_before
        now = self.clock()
        soon = await self.store.due_sessions(now + window, self.batch)
        candidates = [s for s in soon if service.is_warning_due(s, now)]
        if not candidates:
            return 0
        async with self._hold([s.key for s in candidates]) as held:
            now = self.clock()
            sessions = await self._reread(held, now + window)
            warned = [s for s in sessions if service.is_warning_due(s, now)]
            notices = [_bulk(service.warn(s, now)) for s in warned]
            records = await self._commit(warned, notices, "warned")
        await self.outbox.submit(records)
        return len(warned)

    async def _expire(self, candidates: list[Session]) -> int:
        """Close those of ``candidates`` (due sessions) that are still due once their users'
        locks are held. Returns how many were closed."""
        service = self.service  # one version of the texts for the whole batch
        async with self._hold([s.key for s in candidates]) as held:
            now = self.clock()
            sessions = await self._reread(held, now)
            closing = [s for s in sessions if service.is_due(s, now)]
            notices = []
            for session in closing:
                notice = service.expire(session, now)
                if notice is not None:
                    notices.append(_bulk(notice))
            records = await self._commit(closing, notices, "closed")
        for session in closing:
            reason = session.close_reason or CloseReason.TIMEOUT  # timeout or handoff_timeout
            self.metrics.session_closed(session.key.channel, Status.TIMEOUT, reason)
        await self.outbox.submit(records)
        return len(closing)

    async def _reread(self, held: list[Hashable], due_by: datetime) -> list[Session]:
        """The sessions due by ``due_by`` of the ``held`` users, read again now that their
        locks are held.

        One query: a candidate still due is again among the ``batch`` oldest due sessions,
        because no session can have been put in front of it since the first query (deadlines
        are only ever set in the future; sessions ahead of it may only have left)."""
        if not held:
            return []
        wanted = set(held)
        return [s for s in await self.store.due_sessions(due_by, self.batch) if s.key in wanted]

    async def _commit(
        self, sessions: list[Session], notices: list[MessageRecord], event: str
    ) -> list[MessageRecord]:
        """Commit ``sessions`` and ``notices`` (each session's notice in the same transaction
        as its session) in chunks of :data:`COMMIT_CHUNK`; log ``event`` for each session."""
        by_session: dict[str, list[MessageRecord]] = {}
        for notice in notices:
            by_session.setdefault(notice.session_id or "", []).append(notice)
        stored: list[MessageRecord] = []
        for start in range(0, len(sessions), COMMIT_CHUNK):
            chunk = sessions[start : start + COMMIT_CHUNK]
            records = [n for s in chunk for n in by_session.get(s.id, [])]
            stored.extend(await self.store.commit(chunk, records))
            for session in chunk:
                session_event(log, event, session)
        return stored

    def _hold(self, keys: list[Hashable]) -> AbstractAsyncContextManager[list[Hashable]]:
        """The locks of ``keys``: those free now with :class:`BatchLocks` (Redis), else each
        in turn, waiting for it (process-local locks)."""
        if isinstance(self.locks, BatchLocks):
            return self.locks.hold_free(keys)
        return _hold_each(self.locks, keys)

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``interval_s`` seconds until ``stop`` is set. Errors are logged, and
        the next sweep tries again."""
        await periodic(stop, self.interval_s, self.run_once, "sweep")


@asynccontextmanager
async def _hold_each(locks: UserLocks, keys: list[Hashable]) -> AsyncIterator[list[Hashable]]:
    """Hold every key's lock, taken one after the other in one order (``repr``), so two
    batches never wait for each other in a cycle; an engine turn holds one lock only."""
    unique = sorted(dict.fromkeys(keys), key=repr)
    async with contextlib.AsyncExitStack() as stack:
        for key in unique:
            await stack.enter_async_context(locks.lock(key))
        yield unique


def _bulk(notice: MessageRecord) -> MessageRecord:
    """Mark ``notice`` as a bulk notice: nobody waits for it."""
    notice.priority = Priority.BULK
    return notice
