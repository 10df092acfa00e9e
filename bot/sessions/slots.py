"""Where the send slots of each lane are counted: the state the pacer of the outbox
(:mod:`bot.delivery.pacing`) shares through the store, like the locks of :mod:`bot.sessions.locks`.

:class:`LocalSendSlots` counts them in this process; the Redis store's
(:class:`bot.sessions.redis.slots.RedisSendSlots`) is shared by every worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class SendSlots(Protocol):
    """Where the next free send slot of each lane is kept."""

    async def reserve(self, lane: str, interval_s: float, count: int = 1) -> float:
        """Take the next ``count`` free slots of ``lane`` (slots are ``interval_s`` seconds
        apart).

        Returns:
            Seconds from now until the first of them (0 when it is free now).
        """
        ...

    async def hold(self, lane: str, hold_s: float) -> None:
        """Give out no slot of ``lane`` for the next ``hold_s`` seconds (the provider said
        the number is over its rate)."""
        ...


class LocalSendSlots:
    """:class:`SendSlots` of one process, on a monotonic clock.

    Args:
        monotonic: Seconds of a clock that never goes back (injected in tests).
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._next: dict[str, float] = {}

    async def reserve(self, lane: str, interval_s: float, count: int = 1) -> float:
        now = self._monotonic()
        slot = max(self._next.get(lane, now), now)
        self._next[lane] = slot + interval_s * count
        return slot - now

    async def hold(self, lane: str, hold_s: float) -> None:
        now = self._monotonic()
        self._next[lane] = max(self._next.get(lane, now), now + hold_s)
