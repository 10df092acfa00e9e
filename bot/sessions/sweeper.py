"""The one background task that closes sessions whose inactivity deadline has passed.

There is no timer per session: deadlines (``expires_at``) live in the store, and the sweeper
asks for the due ones every ``interval_s`` seconds. Each is re-read and closed under its user's
lock, so a message that arrives at the same moment either keeps the session alive or finds it
closed, never both. A session that expired while the service was down is closed on the first
sweep after start-up, and notified once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.clock import Clock
from bot.outbox import Outbox
from bot.sessions.locks import KeyedLock
from bot.sessions.model import CloseReason, Session, Status
from bot.sessions.service import SessionService
from bot.sessions.store import SessionStore

log = logging.getLogger(__name__)


class Sweeper:
    """Closes due sessions with a timeout notice.

    Args:
        store, service, outbox, locks: Shared with the conversation engine.
        clock: Current time (injected; tests move it instead of sleeping).
        interval_s: Seconds between sweeps in :meth:`run`.
        batch: How many due sessions one query fetches.
        concurrency: How many sessions are closed (and notified) at once.
    """

    def __init__(
        self,
        store: SessionStore,
        service: SessionService,
        outbox: Outbox,
        locks: KeyedLock,
        clock: Clock,
        interval_s: float = 1.0,
        batch: int = 500,
        concurrency: int = 32,
    ) -> None:
        self.store = store
        self.service = service
        self.outbox = outbox
        self.locks = locks
        self.clock = clock
        self.interval_s = interval_s
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """Close every session due now. Returns how many this call closed."""
        closed = 0
        while True:
            due = await self.store.due_sessions(self.clock(), self.batch)
            if not due:
                return closed
            results = await asyncio.gather(*(self._expire(s) for s in due))
            done = sum(results)
            closed += done
            if done == 0:  # every due one was taken by someone else; do not spin
                return closed

    async def _expire(self, candidate: Session) -> bool:
        async with self._slots, self.locks.lock(candidate.key):
            session = await self.store.get(candidate.id)
            now = self.clock()
            if session is None or not self.service.is_due(session, now):
                return False
            notice = self.service.close(session, Status.TIMEOUT, CloseReason.TIMEOUT, now)
            records = await self.store.commit([session], [notice] if notice else [])
            log.info("session %s closed: timeout", session.id)
            await self.outbox.deliver(records)
            return True

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``interval_s`` seconds until ``stop`` is set. Errors are logged, and
        the next sweep tries again."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("sweep failed; retrying in %.1f s", self.interval_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
