"""The one background task that closes sessions whose inactivity deadline has passed.

There is no timer per session: deadlines (``expires_at``) live in the store, and the sweeper
asks for the due ones every ``interval_s`` seconds. Each is re-read and closed under its user's
lock, so a message that arrives at the same moment either keeps the session alive or finds it
closed, never both. A session that expired while the service was down is closed on the first
sweep after start-up, and notified once. Notices are stored with the close and handed to the
outbox as bulk messages: paced, and sent after the replies to users who are waiting.
"""

from __future__ import annotations

import asyncio
import logging

from bot.clock import Clock
from bot.delivery.outbox import Outbox
from bot.logs import session_event
from bot.metrics import NO_METRICS, Metrics
from bot.sessions.locks import UserLocks
from bot.sessions.model import CloseReason, MessageRecord, Priority, Session, Status
from bot.sessions.service import SessionService
from bot.sessions.store import SessionStore
from bot.tasks import periodic

log = logging.getLogger(__name__)


class Sweeper:
    """Closes due sessions with a timeout notice.

    Args:
        store, service, outbox, locks: Shared with the conversation engine.
        clock: Current time (injected; tests move it instead of sleeping).
        interval_s: Seconds between sweeps in :meth:`run`.
        batch: How many due sessions one query fetches.
        concurrency: How many sessions are closed (and notified) at once.
        metrics: Receives the lag of each sweep and every close.
    """

    def __init__(
        self,
        store: SessionStore,
        service: SessionService,
        outbox: Outbox,
        locks: UserLocks,
        clock: Clock,
        interval_s: float = 1.0,
        batch: int = 500,
        concurrency: int = 32,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.service = service
        self.outbox = outbox
        self.locks = locks
        self.clock = clock
        self.interval_s = interval_s
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self.metrics = metrics

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
            results = await asyncio.gather(*(self._expire(s) for s in due))
            done = sum(results)
            closed += done
            if done == 0:  # every due one was taken by someone else; do not spin
                return closed

    async def warn_once(self) -> int:
        """Send the "are you still there?" warning to each session whose deadline is within
        the warning window, once per deadline. Returns how many were warned."""
        assert self.service.warn_before is not None
        now = self.clock()
        soon = await self.store.due_sessions(now + self.service.warn_before, self.batch)
        candidates = [s for s in soon if self.service.is_warning_due(s, now)]
        return sum(await asyncio.gather(*(self._warn(s) for s in candidates)))

    async def _warn(self, candidate: Session) -> bool:
        async with self._slots, self.locks.lock(candidate.key):
            session = await self.store.get(candidate.id)
            now = self.clock()
            if session is None or not self.service.is_warning_due(session, now):
                return False
            notice = _bulk(self.service.warn(session, now), "session.warning")
            records = await self.store.commit([session], [notice])
            session_event(log, "warned", session)
            await self.outbox.submit(records)
            return True

    async def _expire(self, candidate: Session) -> bool:
        async with self._slots, self.locks.lock(candidate.key):
            session = await self.store.get(candidate.id)
            now = self.clock()
            if session is None or not self.service.is_due(session, now):
                return False
            notice = self.service.expire(session, now)
            key = self.service.notice_key(Status.TIMEOUT, CloseReason.TIMEOUT)
            records = await self.store.commit([session], [_bulk(notice, key)] if notice else [])
            session_event(log, "closed", session)
            self.metrics.session_closed(session.key.channel, Status.TIMEOUT, CloseReason.TIMEOUT)
            await self.outbox.submit(records)
            return True

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``interval_s`` seconds until ``stop`` is set. Errors are logged, and
        the next sweep tries again."""
        await periodic(stop, self.interval_s, self.run_once, "sweep")


def _bulk(notice: MessageRecord, key: str) -> MessageRecord:
    """Mark ``notice`` (written from locale ``key``) as a bulk notice: nobody waits for it."""
    notice.priority = Priority.BULK
    notice.notice = key
    return notice
