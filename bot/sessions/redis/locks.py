"""Per-user locks that hold across worker processes, on Redis, with a lease.

A lock is a key (its name given by the caller: :func:`bot.sessions.redis.keys.user_lock` for a
user's lock, ``lock:{botId}:{userId}``) set with ``SET NX PX lease`` to a random token. While
any lock is held, one task per :class:`RedisUserLocks` renews the leases of all of them every
third of a lease (one script call for all); if the holder dies (SIGKILL), the lease runs out
and another worker takes over. Release deletes the key only if it still holds our token (a Lua
compare-and-delete). In front of Redis, a process-local :class:`KeyedLock` keeps this
process's waiters in arrival order and off Redis, so only one task per user and process ever
asks Redis; it waits for another worker's holder with a growing, jittered pause (2 to 50 ms).

A store may take a lock with its own script (``take``), reading in the same round trip what
the holder reads first, and is told when the lock is let go (``released``), so that it stops
trusting what it read.

:meth:`RedisUserLocks.hold_free` takes many users' locks at once without waiting (one
script), for the sweeper: it skips the users someone holds, so two workers' sweepers can
never wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.crc import key_slot

from bot.sessions.locks import KeyedLock, LockTimeout

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RELEASE_MANY = """
local released = 0
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[i] then released = released + redis.call('del', name) end
end
return released
"""
_TAKE_FREE = """
local taken = {}
for i, name in ipairs(KEYS) do
  if redis.call('set', name, ARGV[i + 1], 'NX', 'PX', ARGV[1]) then taken[#taken + 1] = i end
end
return taken
"""
"""Sets each of KEYS nobody holds to its token (ARGV[i + 1]) for ARGV[1] ms; returns the
1-based positions of those taken."""
_RENEW_MANY = """
local lost = {}
for i, name in ipairs(KEYS) do
  if redis.call('get', name) == ARGV[i + 1] then
    redis.call('pexpire', name, ARGV[1])
  else
    lost[#lost + 1] = i
  end
end
return lost
"""
"""Renews each of KEYS still held with its token (ARGV[i + 1]) to ARGV[1] ms; returns the
1-based positions of those lost."""
_FIRST_PAUSE_S = 0.002
_MAX_PAUSE_S = 0.05

Take = Callable[[Hashable, str, str, int], Awaitable[bool]]
"""Tries once to take a lock: ``(key, Redis key name, token, lease ms) -> taken``."""


class RedisUserLocks:
    """Implements :class:`~bot.sessions.locks.UserLocks` across processes.

    Args:
        redis: A client with ``decode_responses=True``.
        key_name: Maps a lock key (a ``SessionKey``) to the Redis key to lock.
        lease_s: Seconds a lock survives its holder's death.
        wait_s: Longest wait for a lock before :class:`LockTimeout`.
        take: Tries once to take a lock (default: ``SET name token NX PX lease``); a store
            passes a script that also reads what the holder needs first.
        script: Makes a callable Lua script from its source (default:
            ``redis.register_script``; the store's share round trips).
        released: Called with the key when its holder leaves the block (before the Redis key
            is deleted), and when taking it failed.
        cluster: The locks' names may hash to several slots (Redis Cluster): the scripts
            over many locks run once per slot (together, in one round trip).
    """

    def __init__(
        self,
        redis: Redis,
        key_name: Callable[[Hashable], str],
        lease_s: float = 10.0,
        wait_s: float = 60.0,
        *,
        take: Take | None = None,
        released: Callable[[Hashable], None] | None = None,
        script: Callable[[str], Any] | None = None,
        cluster: bool = False,
    ) -> None:
        self.redis = redis
        self.cluster = cluster
        self.key_name = key_name
        self.lease_ms = int(lease_s * 1000)
        self.wait_s = wait_s
        self._take = take or self._set_nx
        self._released = released
        self._local = KeyedLock()
        self._busy: dict[Hashable, int] = {}  # keys with a holder or waiter in this process
        self._held: dict[str, str] = {}  # Redis key name -> token, of every lock held here
        self._renewer: asyncio.Task[None] | None = None
        script = script or redis.register_script
        self._release = script(_RELEASE)
        self._release_many = script(_RELEASE_MANY)
        self._renew_many = script(_RENEW_MANY)
        self._take_free = script(_TAKE_FREE)

    def lock(self, key: Hashable) -> AbstractAsyncContextManager[None]:
        """Hold ``key`` in this process and in Redis for the ``async with`` block.

        Raises:
            LockTimeout: Another worker held it for longer than ``wait_s``.
        """
        return _Hold(self, key)

    @asynccontextmanager
    async def hold_free(self, keys: Sequence[Hashable]) -> AsyncIterator[list[Hashable]]:
        """Hold, for the block, the locks of those ``keys`` nobody holds now, without waiting:
        one script sets those that are free, and one releases them.

        Yields:
            The keys held, in the given order (a key given twice counts once).
        """
        free = [k for k in dict.fromkeys(keys) if k not in self._busy]
        for key in free:  # taken in this process before the first await
            self._busy[key] = 1
        held: list[Hashable] = []
        names: list[str] = []
        tokens: list[str] = []
        try:
            candidates = [(k, self.key_name(k), secrets.token_hex(16)) for k in free]
            if candidates:
                taken = await self._per_slot(
                    self._take_free,
                    [name for _, name, _ in candidates],
                    [token for _, _, token in candidates],
                    [self.lease_ms],
                )
                for position in taken:
                    key, name, token = candidates[int(position) - 1]
                    held.append(key)
                    names.append(name)
                    tokens.append(token)
                    self._hold(name, token)
            yield held
        finally:
            for name in names:
                self._held.pop(name, None)
            self._stop_renewing_if_idle()
            if names:
                try:
                    await self._per_slot(self._release_many, names, tokens, [])
                except Exception:
                    log.warning(
                        "could not release %d locks; they expire in %d ms",
                        len(names),
                        self.lease_ms,
                    )
            for key in free:
                self._unbusy(key)

    async def _per_slot(
        self, script: Any, names: list[str], tokens: list[str], first: list[Any]
    ) -> list[int]:
        """Run ``script`` (``KEYS``: lock names; ``ARGV``: ``first``, then a token per name)
        over ``names``: once, or on a cluster once per slot (the calls share a round trip).

        Returns:
            The 1-based positions in ``names`` that the script returned (for a script that
            returns positions; else empty), in order.
        """
        if not self.cluster:
            reply = await script(keys=names, args=[*first, *tokens])
            return [int(p) for p in reply] if isinstance(reply, list) else []
        slots: dict[int, list[int]] = {}
        for at, name in enumerate(names):
            slots.setdefault(key_slot(name.encode()), []).append(at)
        groups = list(slots.values())
        replies = await asyncio.gather(
            *(
                script(keys=[names[i] for i in group], args=[*first, *(tokens[i] for i in group)])
                for group in groups
            )
        )
        found: list[int] = []
        for group, reply in zip(groups, replies, strict=True):
            if isinstance(reply, list):
                found.extend(group[int(position) - 1] + 1 for position in reply)
        return sorted(found)

    def _unbusy(self, key: Hashable) -> None:
        users = self._busy.pop(key, 1)
        if users > 1:
            self._busy[key] = users - 1

    async def _set_nx(self, key: Hashable, name: str, token: str, lease_ms: int) -> bool:
        return bool(await self.redis.set(name, token, nx=True, px=lease_ms))

    async def _acquire(self, key: Hashable, name: str, token: str) -> None:
        """Take ``name`` in Redis; while another worker holds it, ask again after a pause that
        doubles from 2 ms to 50 ms, with jitter so that workers do not ask in step."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        pause_s = _FIRST_PAUSE_S
        while not await self._take(key, name, token, self.lease_ms):
            if loop.time() > deadline:
                raise LockTimeout(f"{name} held elsewhere for more than {self.wait_s} s")
            await asyncio.sleep(pause_s * random.uniform(0.5, 1.0))
            pause_s = min(pause_s * 2, _MAX_PAUSE_S)

    def _hold(self, name: str, token: str) -> None:
        """Count ``name`` as held with ``token``; make sure its lease is renewed."""
        self._held[name] = token
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._keep(), name="redis lock leases")

    def _stop_renewing_if_idle(self) -> None:
        if not self._held and self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None

    async def _keep(self) -> None:
        """Renew the lease of every lock held here, every third of a lease, until cancelled."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            await self.renew()

    async def renew(self) -> int:
        """Renew, in one script, the lease of every lock held here to a whole lease (the
        renewing task calls it every third of a lease). A lock whose lease ran out (someone
        else may hold it now) is no longer counted as held, and logged.

        Returns:
            How many locks were lost (0 also when Redis could not be reached: logged).
        """
        if not self._held:
            return 0
        names, tokens = list(self._held), list(self._held.values())
        try:
            lost = await self._per_slot(self._renew_many, names, tokens, [self.lease_ms])
        except Exception:
            log.warning("could not renew %d lock(s)", len(names))
            return 0
        for position in lost:
            name = names[int(position) - 1]
            if self._held.get(name) == tokens[int(position) - 1]:
                del self._held[name]  # renewing it again is pointless
        if lost:
            log.error("lost %d lock(s) (lease expired)", len(lost))
        return len(lost)


class _Hold:
    """One ``async with`` on a :class:`RedisUserLocks` key (a class, not a generator: it is on
    every message's path)."""

    __slots__ = ("_key", "_local", "_locks", "_name", "_token")

    def __init__(self, locks: RedisUserLocks, key: Hashable) -> None:
        self._locks = locks
        self._key = key
        self._local: Any = None
        self._name = ""
        self._token = ""

    async def __aenter__(self) -> None:
        locks, key = self._locks, self._key
        locks._busy[key] = locks._busy.get(key, 0) + 1
        try:
            self._local = locks._local.lock(key)
            await self._local.__aenter__()
            try:
                self._name = locks.key_name(key)
                self._token = secrets.token_hex(16)
                await locks._acquire(key, self._name, self._token)
            except BaseException:  # cancelled while taking it: its lease frees it
                if locks._released is not None:
                    locks._released(key)
                await self._local.__aexit__(None, None, None)
                raise
        except BaseException:
            locks._unbusy(key)
            raise
        locks._hold(self._name, self._token)

    async def __aexit__(self, *exc_info: object) -> None:
        locks, key, name = self._locks, self._key, self._name
        try:
            if locks._released is not None:
                locks._released(key)
            if locks._held.get(name) == self._token:
                del locks._held[name]
            locks._stop_renewing_if_idle()
            try:
                await locks._release(keys=[name], args=[self._token])
            except Exception:  # the lease will expire by itself
                log.warning("could not release %s; it expires in %d ms", name, locks.lease_ms)
        finally:
            await self._local.__aexit__(None, None, None)
            locks._unbusy(key)
