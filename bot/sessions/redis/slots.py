"""Send slots on Redis, so that several workers share each business number's rate.

One key per lane, :func:`bot.sessions.redis.keys.pace` (``outbox:pace:{lane}``), holds the
lane's next free slot in microseconds of the Redis server's own clock (``TIME``), so workers
with skewed clocks still agree. A Lua script takes slots atomically: the next free slot is
never earlier than now (no burst is saved up), and moves ``count * interval`` further on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sessions.redis import keys as redis_keys

_RESERVE = """
local t = redis.call('time')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('get', KEYS[1]) or '0')
if slot < now then slot = now end
local following = slot + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('set', KEYS[1], string.format('%.0f', following),
           'PX', math.ceil((following - now) / 1000) + 1000)
return string.format('%.0f', slot - now)
"""
_HOLD = """
local t = redis.call('time')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('get', KEYS[1]) or '0')
local until_us = now + tonumber(ARGV[1])
if slot < until_us then slot = until_us end
redis.call('set', KEYS[1], string.format('%.0f', slot),
           'PX', math.ceil((slot - now) / 1000) + 1000)
return 1
"""


class RedisSendSlots:
    """:class:`~bot.sessions.slots.SendSlots` kept in Redis.

    Args:
        script: Makes a callable Lua script from its source: a ``redis.asyncio.Redis``
            client's ``register_script``, or the store's (which shares round trips).
    """

    def __init__(self, script: Callable[[str], Any]) -> None:
        self._reserve = script(_RESERVE)
        self._hold = script(_HOLD)

    async def reserve(self, lane: str, interval_s: float, count: int = 1) -> float:
        wait_us = await self._reserve(
            keys=[redis_keys.pace(lane)], args=[round(interval_s * 1_000_000), count]
        )
        return int(wait_us) / 1_000_000

    async def hold(self, lane: str, hold_s: float) -> None:
        await self._hold(keys=[redis_keys.pace(lane)], args=[round(hold_s * 1_000_000)])
