"""The sender task's queue: the users waiting to send, one lane per business number.

Each lane (a channel and business number) holds its users in a priority queue (replies before
bulk notices, then arrival order) and is served by ``concurrency`` workers; a user is queued
once, at its best priority, and never served by two workers at once (queued again while
served, it is served again after). Retries wait on timers until their time comes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.privacy import mask_phone
from bot.sessions.model import SessionKey
from bot.tasks import CANCEL_WAIT_S, stop_tasks

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Lane:
    """The users waiting to send from one business number, and the workers that serve them."""

    queue: asyncio.PriorityQueue[tuple[int, int, SessionKey]] = field(
        default_factory=asyncio.PriorityQueue
    )
    queued: dict[SessionKey, int] = field(default_factory=dict)
    workers: list[asyncio.Task[None]] = field(default_factory=list)


class SendQueue:
    """The users waiting to send, per lane, and the timers of their retries.

    Args:
        deliver: Sends one user's pending messages (``Outbox._deliver_user``); a raise is
            logged and the worker goes on.
        concurrency: Workers per lane.
        accepting: Whether users may be queued now (the outbox is started; from the start of
            its stop, what would be queued stays pending for the next start).
    """

    def __init__(
        self,
        deliver: Callable[[SessionKey], Awaitable[int]],
        concurrency: int,
        accepting: Callable[[], bool],
    ) -> None:
        self._deliver = deliver
        self._accepting = accepting
        self.concurrency = concurrency
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._running: set[SessionKey] = set()
        self._again: dict[SessionKey, int] = {}
        self._timers: list[tuple[datetime, int, SessionKey, int]] = []
        self._arrivals = itertools.count()
        self._idle = asyncio.Event()
        self._idle.set()
        self.wake = asyncio.Event()
        """Set when a timer is added (the sender task looks at the timers again)."""

    def enqueue(self, key: SessionKey, priority: int) -> None:
        """Queue ``key`` on its business number's lane (once; at its best priority); nothing
        while not accepting."""
        if not self._accepting():
            return
        if key in self._running:
            self._again[key] = min(self._again.get(key, priority), priority)
            return
        lane = self._lane(key)
        best = lane.queued.get(key)
        if best is not None and best <= priority:
            return
        lane.queued[key] = priority
        lane.queue.put_nowait((priority, next(self._arrivals), key))
        self._idle.clear()

    def schedule(self, key: SessionKey, at: datetime, priority: int) -> None:
        """Queue ``key`` again at ``at`` (when :meth:`release_due` is called at or after it);
        nothing while not accepting."""
        if not self._accepting():
            return
        heapq.heappush(self._timers, (at, next(self._arrivals), key, priority))
        self.wake.set()

    def release_due(self, now: datetime) -> float | None:
        """Queue the users whose timers are due at ``now``; seconds until the next timer
        (``None``: no timer left)."""
        while self._timers and self._timers[0][0] <= now:
            _, _, key, priority = heapq.heappop(self._timers)
            self.enqueue(key, priority)
        if not self._timers:
            return None
        return (self._timers[0][0] - now).total_seconds()

    async def join(self) -> None:
        """Wait until no user is queued or being sent to (retries not yet due may remain)."""
        await self._idle.wait()

    def waiting(self) -> int:
        """Users queued or being sent to."""
        return sum(len(lane.queued) for lane in self._lanes.values()) + len(self._running)

    async def close(self) -> None:
        """Cancel every lane's workers (what they were sending stays as the store has it)."""
        workers = [w for lane in self._lanes.values() for w in lane.workers]
        for worker in workers:
            worker.cancel()
        await stop_tasks(workers, CANCEL_WAIT_S)
        self._lanes.clear()

    def _lane(self, key: SessionKey) -> _Lane:
        name = (key.channel, key.bot_id)
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane()
            lane.workers = [
                asyncio.create_task(self._work(lane), name=f"outbox {key.channel}:{key.bot_id}")
                for _ in range(self.concurrency)
            ]
        return lane

    async def _work(self, lane: _Lane) -> None:
        """One of a lane's workers: serve the best queued user, until cancelled."""
        while True:
            priority, _, key = await lane.queue.get()
            if lane.queued.get(key) != priority:
                continue  # a stale entry: the user was queued again at a better priority
            del lane.queued[key]
            self._running.add(key)
            try:
                await self._deliver(key)
            except Exception:
                log.exception("sending to %s failed", mask_phone(key.user_id))
            finally:
                self._running.discard(key)
                again = self._again.pop(key, None)
                if again is not None:
                    self.enqueue(key, again)
                self._check_idle()

    def _check_idle(self) -> None:
        if (
            not self._running
            and not self._again
            and not any(lane.queued for lane in self._lanes.values())
        ):
            self._idle.set()
