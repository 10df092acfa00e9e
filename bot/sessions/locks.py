"""Per-key locking: one user's messages are handled one at a time, in arrival order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class UserLocks(Protocol):
    """Mutual exclusion per user: the engine and the sweeper change a session only inside it.

    :class:`KeyedLock` serves one process; :class:`bot.sessions.redis_locks.RedisUserLocks`
    serves many workers on one Redis.
    """

    def lock(self, key: Hashable) -> AbstractAsyncContextManager[None]:
        """Hold ``key``'s lock for the ``async with`` block (waiting for it first)."""
        ...


class KeyedLock:
    """An ``asyncio.Lock`` per key, created on first use and removed when its last holder leaves.

    Waiters are served first come, first served (``asyncio.Lock`` is fair), so tasks created in
    arrival order run in arrival order. Different keys never wait for each other.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def lock(self, key: Hashable) -> AsyncIterator[None]:
        """Hold the lock of ``key`` for the ``async with`` block."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        """Number of keys with a holder or waiter (0 when idle: no leak)."""
        return len(self._locks)
