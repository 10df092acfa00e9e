"""Per-user locks that hold across worker processes, on Redis, with a lease.

A lock is a key ``lock:{botId}:{userId}`` set with ``SET NX PX lease`` to a random token. While
held, a task renews the lease every third of it; if the holder dies (SIGKILL), the lease runs
out and another worker takes over. Release deletes the key only if it still holds our token
(a Lua compare-and-delete). In front of Redis, a process-local :class:`KeyedLock` keeps this
process's waiters in arrival order and off Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from bot.sessions.locks import KeyedLock

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class LockTimeout(Exception):
    """A user's lock could not be taken within the wait limit."""


class RedisUserLocks:
    """Implements :class:`~bot.sessions.locks.UserLocks` across processes.

    Args:
        redis: A client with ``decode_responses=True``.
        key_name: Maps a lock key (a ``SessionKey``) to the Redis key to lock.
        lease_s: Seconds a lock survives its holder's death.
        wait_s: Longest wait for a lock before :class:`LockTimeout`.
    """

    def __init__(
        self,
        redis: Redis,
        key_name: Callable[[Hashable], str],
        lease_s: float = 10.0,
        wait_s: float = 60.0,
    ) -> None:
        self.redis = redis
        self.key_name = key_name
        self.lease_ms = int(lease_s * 1000)
        self.wait_s = wait_s
        self._local = KeyedLock()
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)

    @asynccontextmanager
    async def lock(self, key: Hashable) -> AsyncIterator[None]:
        """Hold ``key`` in this process and in Redis for the block.

        Raises:
            LockTimeout: Another worker held it for longer than ``wait_s``.
        """
        async with self._local.lock(key):
            name = self.key_name(key)
            token = secrets.token_hex(16)
            await self._acquire(name, token)
            renewal = asyncio.create_task(self._keep(name, token))
            try:
                yield
            finally:
                renewal.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewal
                try:
                    await self._release(keys=[name], args=[token])
                except Exception:  # the lease will expire by itself
                    log.warning("could not release %s; it expires in %d ms", name, self.lease_ms)

    async def _acquire(self, name: str, token: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        pause_s = 0.002
        while not await self.redis.set(name, token, nx=True, px=self.lease_ms):
            if loop.time() > deadline:
                raise LockTimeout(f"{name} held elsewhere for more than {self.wait_s} s")
            await asyncio.sleep(pause_s)
            pause_s = min(pause_s * 2, 0.05)

    async def _keep(self, name: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if not await self._renew(keys=[name], args=[token, self.lease_ms]):
                    log.error("lost the lock %s (lease expired)", name)
                    return
            except Exception:
                log.warning("could not renew %s", name)
