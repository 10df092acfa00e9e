"""An even pace per business number, with replies to waiting users served first.

Meta limits how many messages one business number sends per second (80 by default, "Throughput"
in the Cloud API docs); a burst above it is refused with error 130429. So every send first
takes a *slot* of its lane (a channel and business number): slots are spaced ``1 / rate``
seconds apart, a generic cell rate algorithm with a burst of one — nothing is saved up while a
lane is idle, so a burst from the sweeper is spread out rather than sent at once. The rate is
applied 5 % under the configured one (:data:`RATE_MARGIN`), so that network jitter (up to
about 50 ms) does not make the provider count more than the configured rate in one second.

:class:`Pacer` hands each slot to the waiting sender of best :class:`~bot.sessions.model.Priority`
(replies before bulk notices), first come first served within a priority. Where slots are
counted is a :class:`~bot.sessions.slots.SendSlots`: :class:`~bot.sessions.slots.LocalSendSlots`
in this process, or the Redis store's (shared by every worker), from ``OutboxStore.send_slots()``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.sessions.slots import SendSlots
from bot.tasks import CANCEL_WAIT_S, stop_tasks

log = logging.getLogger(__name__)

RATE_MARGIN = 0.95
"""Share of the configured rate actually used (see the module docstring)."""
RESERVE_AHEAD_S = 0.05
"""Slots reserved at once when several senders wait: at most this many seconds' worth (one
round trip to the slot store per batch, not per message, at high rates)."""


@dataclass(slots=True)
class _Gate:
    """The senders waiting for slots of one lane: ``(priority, arrival, future)``."""

    waiters: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


def lane_of(channel: str, bot_id: str) -> str:
    """The lane name of business number ``bot_id`` on ``channel``: ``"whatsapp:1234"``."""
    return f"{channel}:{bot_id}"


class Pacer:
    """Spaces the sends of each business number evenly; the best-priority waiter gets each slot.

    Args:
        slots: Where slots are counted.
        rates: Messages per second per business number, by channel; a channel not listed (or
            with rate 0) is not paced (Twilio queues what it cannot send at once itself).
    """

    def __init__(self, slots: SendSlots, rates: Mapping[str, float]) -> None:
        self._slots = slots
        self._intervals_s = {
            channel: 1.0 / (rate * RATE_MARGIN) for channel, rate in rates.items() if rate > 0
        }
        self._gates: dict[str, _Gate] = {}
        self._arrivals = itertools.count()

    async def acquire(self, channel: str, bot_id: str, priority: int) -> None:
        """Wait for a send slot of ``bot_id`` on ``channel``; lower ``priority`` values are
        served first."""
        interval_s = self._intervals_s.get(channel)
        if interval_s is None:
            return
        lane = lane_of(channel, bot_id)
        gate = self._gates.setdefault(lane, _Gate())
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(gate.waiters, (priority, next(self._arrivals), turn))
        if gate.task is None or gate.task.done():
            gate.task = asyncio.create_task(
                self._hand_out(lane, gate, interval_s), name=f"pacer {lane}"
            )
        await turn

    async def hold(self, channel: str, bot_id: str, hold_s: float) -> None:
        """Send nothing from ``bot_id`` on ``channel`` for ``hold_s`` seconds (the number hit
        its rate limit)."""
        if channel in self._intervals_s and hold_s > 0:
            lane = lane_of(channel, bot_id)
            log.info("%s is over its rate limit; pausing its sends for %.1f s", lane, hold_s)
            await self._slots.hold(lane, hold_s)

    async def _hand_out(self, lane: str, gate: _Gate, interval_s: float) -> None:
        """Reserve slots, wait for each, give it to the best waiter then; until nobody waits."""
        loop = asyncio.get_running_loop()
        batch = max(1, int(RESERVE_AHEAD_S / interval_s))
        try:
            while gate.waiters:
                count = min(batch, len(gate.waiters))
                first = loop.time() + await self._slots.reserve(lane, interval_s, count)
                for n in range(count):
                    wait_s = first + n * interval_s - loop.time()
                    if wait_s > 0:
                        await asyncio.sleep(wait_s)
                    while gate.waiters:
                        _, _, turn = heapq.heappop(gate.waiters)
                        if not turn.done():  # a cancelled waiter gives its place up
                            turn.set_result(None)
                            break
        except Exception as exc:  # the slot store failed: let the waiters go rather than hang
            log.warning("pacing of %s failed (%s); sending without it", lane, exc)
            for _, _, turn in gate.waiters:
                if not turn.done():
                    turn.set_result(None)
            gate.waiters.clear()

    async def close(self) -> None:
        """Stop handing out slots; waiters are cancelled."""
        for gate in self._gates.values():
            for _, _, turn in gate.waiters:
                turn.cancel()
            gate.waiters.clear()
            if gate.task is not None:
                await stop_tasks([gate.task], CANCEL_WAIT_S)
        self._gates.clear()
