"""Per-key locking: one user's messages are handled one at a time, in arrival order."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bot.errors import BotError


class LockTimeout(BotError):
    """A user's lock could not be taken within the wait limit (a lock shared by workers:
    :class:`bot.sessions.redis.locks.RedisUserLocks`)."""


class UserLocks(Protocol):
    """Mutual exclusion per user: the engine and the sweeper change a session only inside it.

    :class:`KeyedLock` serves one process; :class:`bot.sessions.redis.locks.RedisUserLocks`
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
        self._locks: dict[Hashable, list[Any]] = {}  # key -> [asyncio.Lock, holders + waiters]

    def lock(self, key: Hashable) -> AbstractAsyncContextManager[None]:
        """Hold the lock of ``key`` for the ``async with`` block."""
        return _Hold(self._locks, key)

    def __len__(self) -> int:
        """Number of keys with a holder or waiter (0 when idle: no leak)."""
        return len(self._locks)


class _Hold:
    """One ``async with`` on a :class:`KeyedLock` key (a class, not a generator: it is on every
    message's path)."""

    __slots__ = ("_entry", "_key", "_locks")

    def __init__(self, locks: dict[Hashable, list[Any]], key: Hashable) -> None:
        self._locks = locks
        self._key = key
        self._entry: list[Any] | None = None

    async def __aenter__(self) -> None:
        entry = self._locks.get(self._key)
        if entry is None:
            entry = self._locks[self._key] = [asyncio.Lock(), 0]
        entry[1] += 1
        self._entry = entry
        try:
            await entry[0].acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._entry is not None
        self._entry[0].release()
        self._leave()

    def _leave(self) -> None:
        entry = self._entry
        assert entry is not None
        entry[1] -= 1
        if entry[1] == 0 and self._locks.get(self._key) is entry:
            del self._locks[self._key]
