"""The SQLite store's two connections (the writer's thread, the read-only reader) and how a
failing file is opened again; the concerns of the store are mixins over it (see
:mod:`bot.sessions.sqlite`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.clock import Clock, utc_now
from bot.messages import InboundMessage
from bot.sessions.model import Session, SessionKey
from bot.sessions.sqlite.rows import Recent
from bot.sessions.sqlite.schema import setup
from bot.sessions.sqlite.worker import SqliteWorker
from bot.sessions.store import StoreUnavailable

log = logging.getLogger("bot.sessions.sqlite")

T = TypeVar("T")

SESSION_CACHE_SIZE = 20_000
"""Users whose active session (or its absence) is kept in memory; the least recently written
are forgotten first (about 1 KB each)."""
LAST_INBOUND_CACHE_SIZE = 100_000
"""Users whose last inbound time is kept in memory (about 200 bytes each)."""

FILE_ERRORS = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN}
)
"""Primary result codes of a write that failed because of the file, not of the change: the
store opens its connections again before its next use."""

_MISSING: Any = object()


class SqliteConnection:
    """What every concern of :class:`~bot.sessions.sqlite.SqliteStore` shares: the file, its
    connections and the caches kept in memory (see the package docstring)."""

    def __init__(
        self, path: Path, cache_size: int = SESSION_CACHE_SIZE, clock: Clock = utc_now
    ) -> None:
        self.path = path
        self.clock = clock
        self._worker = SqliteWorker(path, setup)
        self._reader: aiosqlite.Connection | None = None
        self._active: Recent[SessionKey, Session | None] = Recent(cache_size)
        self._last_in: Recent[SessionKey, datetime] = Recent(LAST_INBOUND_CACHE_SIZE)
        self._inbox: dict[SessionKey, deque[tuple[int, InboundMessage]]] = {}  # (row id, ...)
        self._writes = 0  # committed session writes, to tell whether a cache miss went stale
        self._file_error: sqlite3.Error | None = None  # the last write's, until reconnected
        self._failing = False  # since a file error, until a write succeeds (for the log)
        self._reconnecting = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        """The read-only connection of the admin and dashboard queries."""
        if self._reader is None:
            raise RuntimeError("SqliteStore used before open()")
        return self._reader

    async def _connect(self) -> None:
        """Open the writer's thread and the read-only connection of the admin queries."""
        await self._worker.start()
        self._reader = await aiosqlite.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        self._reader.row_factory = sqlite3.Row

    async def _disconnect(self) -> None:
        await self._worker.stop()
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    async def _usable(self) -> None:
        """Wait for a reconnection in progress; after a file error, reconnect first (both
        connections closed, so that none keeps the file's read-only state).

        Raises:
            StoreUnavailable: The file cannot be opened (the next use tries again).
        """
        async with self._reconnecting:
            error = self._file_error
            if error is None:
                return
            self._file_error = None
            await self._disconnect()
            try:
                await self._connect()
            except sqlite3.Error as exc:
                self._file_error = error
                with contextlib.suppress(sqlite3.Error):
                    await self._disconnect()
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            log.debug("sqlite: %s opened again after: %s", self.path, error)

    def _failed(self, exc: sqlite3.Error) -> StoreUnavailable:
        """The StoreUnavailable of a failed job; a file error schedules a reconnection."""
        if exc.sqlite_errorcode & 0xFF in FILE_ERRORS and self._worker.running:
            if not self._failing:
                log.error("sqlite: %s fails: %s (opened again before the next use)", self.path, exc)
            self._file_error, self._failing = exc, True
        return StoreUnavailable(f"sqlite: {exc}")

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` in the next group commit. sqlite3's IntegrityError passes through."""
        if self._file_error is not None or self._reconnecting.locked():
            await self._usable()
        try:
            result = await self._worker.write(job)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        except RuntimeError as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        if self._failing:
            self._failing = False
            log.info("sqlite: writes to %s succeed again", self.path)
        return result

    async def _read(self, job: Callable[[sqlite3.Connection], T]) -> T:
        if self._file_error is not None or self._reconnecting.locked():
            await self._usable()
        try:
            return await self._worker.read(job)
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        except RuntimeError as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    async def _one(self, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _all(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        if self._file_error is not None or self._reconnecting.locked():
            await self._usable()
        try:
            return list(await self.db.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc
