"""Per-user locks that hold across worker processes, on Redis, with a lease.

A lock is a key ``lock:{botId}:{userId}`` set with ``SET NX PX lease`` to a random token. While
held, a task renews the lease every third of it; if the holder dies (SIGKILL), the lease runs
out and another worker takes over. Release deletes the key only if it still holds our token
(a Lua compare-and-delete). In front of Redis, a process-local :class:`KeyedLock` keeps this
process's waiters in arrival order and off Redis, so only one task per user and process ever
asks Redis; it waits for another worker's holder with a growing, jittered pause (2 to 50 ms).

:meth:`RedisUserLocks.hold_free` takes many users' locks at once without waiting (one
pipeline), for the sweeper: it skips the users someone holds, so two workers' sweepers can
never wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
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
_RELEASE_MANY = """
local released = 0
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[i] then released = released + redis.call('del', name) end
end
return released
"""
_RENEW_MANY = """
local renewed = 0
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[i + 1] then
    renewed = renewed + redis.call('pexpire', name, ARGV[1])
  end
end
return renewed
"""
_FIRST_PAUSE_S = 0.002
_MAX_PAUSE_S = 0.05


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
        self._busy: dict[Hashable, int] = {}  # keys with a holder or waiter in this process
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        self._release_many = redis.register_script(_RELEASE_MANY)
        self._renew_many = redis.register_script(_RENEW_MANY)

    @asynccontextmanager
    async def lock(self, key: Hashable) -> AsyncIterator[None]:
        """Hold ``key`` in this process and in Redis for the block.

        Raises:
            LockTimeout: Another worker held it for longer than ``wait_s``.
        """
        self._busy[key] = self._busy.get(key, 0) + 1
        try:
            async with self._local.lock(key):
                name = self.key_name(key)
                token = secrets.token_hex(16)
                await self._acquire(name, token)
                renewal = asyncio.create_task(self._keep([name], [token]))
                try:
                    yield
                finally:
                    await _cancel(renewal)
                    try:
                        await self._release(keys=[name], args=[token])
                    except Exception:  # the lease will expire by itself
                        log.warning(
                            "could not release %s; it expires in %d ms", name, self.lease_ms
                        )
        finally:
            self._unbusy(key)

    @asynccontextmanager
    async def hold_free(self, keys: Sequence[Hashable]) -> AsyncIterator[list[Hashable]]:
        """Hold, for the block, the locks of those ``keys`` nobody holds now, without waiting:
        one pipeline of ``SET NX`` for all of them, one renewal task, one release script.

        Yields:
            The keys held, in the given order (a key given twice counts once).
        """
        free = [k for k in dict.fromkeys(keys) if k not in self._busy]
        for key in free:  # taken in this process before the first await
            self._busy[key] = 1
        held: list[Hashable] = []
        names: list[str] = []
        tokens: list[str] = []
        renewal: asyncio.Task[None] | None = None
        try:
            candidates = [(k, self.key_name(k), secrets.token_hex(16)) for k in free]
            if candidates:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for _, name, token in candidates:
                        pipe.set(name, token, nx=True, px=self.lease_ms)
                    taken = await pipe.execute()
                for (key, name, token), ok in zip(candidates, taken, strict=True):
                    if ok:
                        held.append(key)
                        names.append(name)
                        tokens.append(token)
            if names:
                renewal = asyncio.create_task(self._keep(names, tokens))
            yield held
        finally:
            if renewal is not None:
                await _cancel(renewal)
            if names:
                try:
                    await self._release_many(keys=names, args=tokens)
                except Exception:
                    log.warning(
                        "could not release %d locks; they expire in %d ms",
                        len(names),
                        self.lease_ms,
                    )
            for key in free:
                self._unbusy(key)

    def _unbusy(self, key: Hashable) -> None:
        users = self._busy.pop(key, 1)
        if users > 1:
            self._busy[key] = users - 1

    async def _acquire(self, name: str, token: str) -> None:
        """Take ``name`` in Redis; while another worker holds it, ask again after a pause that
        doubles from 2 ms to 50 ms, with jitter so that workers do not ask in step."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        pause_s = _FIRST_PAUSE_S
        while not await self.redis.set(name, token, nx=True, px=self.lease_ms):
            if loop.time() > deadline:
                raise LockTimeout(f"{name} held elsewhere for more than {self.wait_s} s")
            await asyncio.sleep(pause_s * random.uniform(0.5, 1.0))
            pause_s = min(pause_s * 2, _MAX_PAUSE_S)

    async def _keep(self, names: list[str], tokens: list[str]) -> None:
        """Renew the leases of ``names`` (held with ``tokens``) every third of a lease."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if len(names) == 1:
                    renewed = await self._renew(keys=names, args=[tokens[0], self.lease_ms])
                else:
                    renewed = await self._renew_many(keys=names, args=[self.lease_ms, *tokens])
                if int(renewed) < len(names):
                    log.error("lost %d lock(s) (lease expired)", len(names) - int(renewed))
                    if len(names) == 1:
                        return
            except Exception:
                log.warning("could not renew %d lock(s)", len(names))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
