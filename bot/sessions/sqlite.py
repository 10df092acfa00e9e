"""The embedded SQLite session store, the default backend (one process per file).

Writes, and the reads of the conversation's hot path, are jobs for one thread that owns the
connection (:mod:`bot.sessions.sqlite_worker`): the writes queued while it works are committed
together in one transaction (group commit), and every result of a round reaches the event loop
in one hand-off. The admin and dashboard queries use a second, read-only connection (aiosqlite),
so a heavy report never delays a turn. The file is in WAL mode with ``synchronous=NORMAL``.

Since one process owns the file, the store keeps what a turn reads in memory, written through
on every commit: the active session of recently seen users (a bounded cache; a miss reads the
file), each user's inbox (loaded from the file at open, so a crash loses nothing) and when each
user last wrote. A second process writing the same file would not be seen: run one process per
SQLite file, or use Redis for several workers.

A write that fails because of the file rather than the change (read-only, I/O error, disk
full: :data:`FILE_ERRORS`) makes the store close both connections and open them again before
its next use. SQLite opens a file it may not write read-only and keeps it so, with the
``-shm`` file shared by every connection of the process: without that, writes would go on
failing after the cause is gone, until a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite
import orjson

from bot.channels.base import InboundMessage
from bot.clock import Clock, utc_now
from bot.sessions.model import (
    INTERRUPTED_DETAIL,
    Delivery,
    Direction,
    MessageRecord,
    Session,
    SessionKey,
    Status,
    message_from_row,
)
from bot.sessions.sqlite_worker import SqliteWorker
from bot.sessions.store import (
    DeletedCounts,
    DuplicateInbound,
    FlowStats,
    HourlyActivity,
    MessageSummary,
    SessionQuery,
    SessionStats,
    SessionStore,
    StepExit,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

SESSION_CACHE_SIZE = 20_000
"""Users whose active session (or its absence) is kept in memory; the least recently written
are forgotten first (about 1 KB each)."""
LAST_INBOUND_CACHE_SIZE = 100_000
"""Users whose last inbound time is kept in memory (about 200 bytes each)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    close_reason TEXT,
    flow_id TEXT,
    step_id TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    language TEXT,
    display_name TEXT,
    created_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    expires_at TEXT,
    closed_at TEXT,
    warned_at TEXT,
    flow_version TEXT,
    step_retries INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS sessions_one_active
    ON sessions (channel, bot_id, user_id) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS sessions_due ON sessions (expires_at) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id, created_at);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT REFERENCES sessions (id),
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind TEXT NOT NULL,
    text TEXT,
    step_id TEXT,
    created_at TEXT NOT NULL,
    provider_id TEXT,
    status TEXT NOT NULL,
    error_code INTEGER,
    error_detail TEXT,
    payload TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_inbound_once
    ON messages (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_outbound_provider
    ON messages (provider_id) WHERE direction = 'out';
CREATE INDEX IF NOT EXISTS messages_pending ON messages (id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, id);
CREATE INDEX IF NOT EXISTS messages_user_pending
    ON messages (channel, bot_id, user_id, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS messages_user_inbound
    ON messages (channel, bot_id, user_id, created_at) WHERE direction = 'in';
CREATE TABLE IF NOT EXISTS inbound_seen (
    channel TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (channel, provider_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_user ON inbox (channel, bot_id, user_id, id);
CREATE TABLE IF NOT EXISTS opt_outs (
    channel TEXT NOT NULL,
    bot_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    opted_out_at TEXT NOT NULL,
    PRIMARY KEY (channel, bot_id, user_id)
) WITHOUT ROWID;
"""

ADDED_COLUMNS = (
    ("sessions", "warned_at", "TEXT"),
    ("sessions", "flow_version", "TEXT"),
    ("sessions", "step_retries", "INTEGER NOT NULL DEFAULT 0"),
    ("sessions", "confirming", "TEXT"),
    ("messages", "payload", "TEXT"),
    ("messages", "attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "next_attempt_at", "TEXT"),
    ("messages", "priority", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "notice", "TEXT"),
)
"""Columns added after the first release: ``(table, column, type)``, added on open if missing."""

FILE_ERRORS = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN}
)
"""Primary result codes of a write that failed because of the file, not of the change: the
store opens its connections again before its next use."""

_DELIVERY_RANK = {
    Delivery.PENDING: 0,
    Delivery.SENT: 1,
    Delivery.DELIVERED: 2,
    Delivery.READ: 3,
}


def to_iso(moment: datetime) -> str:
    """Format an aware datetime as sortable ISO 8601 UTC (``2026-01-31T12:00:00.000000+00:00``)."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    """Parse :func:`to_iso` output (``None`` stays ``None``)."""
    return datetime.fromisoformat(text) if text else None


def _session(row: sqlite3.Row) -> Session:
    created = from_iso(row["created_at"])
    last = from_iso(row["last_activity_at"])
    assert created is not None and last is not None
    return Session(
        id=row["id"],
        key=SessionKey(row["channel"], row["bot_id"], row["user_id"]),
        status=Status(row["status"]),
        close_reason=row["close_reason"],
        flow_id=row["flow_id"],
        step_id=row["step_id"],
        data=json.loads(row["data"]),
        language=row["language"],
        display_name=row["display_name"],
        created_at=created,
        last_activity_at=last,
        expires_at=from_iso(row["expires_at"]),
        closed_at=from_iso(row["closed_at"]),
        warned_at=from_iso(row["warned_at"]),
        flow_version=row["flow_version"],
        step_retries=row["step_retries"] or 0,
        confirming=row["confirming"],
    )


def _dumps(value: Any) -> str:
    """Compact JSON text (orjson: a tenth of ``json.dumps``'s time on every turn)."""
    return orjson.dumps(value).decode()


def _message(row: sqlite3.Row) -> MessageRecord:
    return message_from_row(dict(zip(row.keys(), row, strict=True)))


class _Recent(Generic[K, V]):
    """A dict that forgets its least recently written entries beyond ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[K, V] = {}

    def put(self, key: K, value: V) -> None:
        items = self.items
        items.pop(key, None)
        items[key] = value
        if len(items) > self.size:
            del items[next(iter(items))]

    def drop_where(self, doomed: Callable[[K], bool]) -> None:
        for key in [k for k in self.items if doomed(k)]:
            del self.items[key]


_UPSERT_SESSION = """INSERT INTO sessions (id, channel, bot_id, user_id, status, close_reason,
        flow_id, step_id, data, language, display_name, created_at, last_activity_at,
        expires_at, closed_at, warned_at, flow_version, step_retries, confirming)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
    ON CONFLICT (id) DO UPDATE SET status=excluded.status,
        close_reason=excluded.close_reason, flow_id=excluded.flow_id,
        step_id=excluded.step_id, data=excluded.data,
        language=excluded.language, display_name=excluded.display_name,
        last_activity_at=excluded.last_activity_at,
        expires_at=excluded.expires_at, closed_at=excluded.closed_at,
        warned_at=excluded.warned_at, flow_version=excluded.flow_version,
        step_retries=excluded.step_retries, confirming=excluded.confirming"""

_CREATE_PROBE = """CREATE TABLE IF NOT EXISTS store_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1), written_at TEXT NOT NULL)"""
_WRITE_PROBE = "INSERT OR REPLACE INTO store_probe (id, written_at) VALUES (1, ?)"

_INSERT_MESSAGE = """INSERT INTO messages (session_id, channel, bot_id, user_id, direction,
        kind, text, step_id, created_at, provider_id, status, error_code,
        error_detail, payload, attempts, next_attempt_at, priority, notice)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""


def _session_params(s: Session) -> tuple[Any, ...]:
    return (
        s.id,
        s.key.channel,
        s.key.bot_id,
        s.key.user_id,
        s.status.value,
        s.close_reason,
        s.flow_id,
        s.step_id,
        _dumps(s.data),
        s.language,
        s.display_name,
        to_iso(s.created_at),
        to_iso(s.last_activity_at),
        to_iso(s.expires_at) if s.expires_at else None,
        to_iso(s.closed_at) if s.closed_at else None,
        to_iso(s.warned_at) if s.warned_at else None,
        s.flow_version,
        s.step_retries,
        s.confirming,
    )


def _message_params(m: MessageRecord) -> tuple[Any, ...]:
    return (
        m.session_id,
        m.key.channel,
        m.key.bot_id,
        m.key.user_id,
        m.direction.value,
        m.kind,
        m.text,
        m.step_id,
        to_iso(m.created_at),
        m.provider_id,
        m.status.value,
        m.error_code,
        m.error_detail,
        _dumps(m.payload) if m.payload else None,
        m.attempts,
        to_iso(m.next_attempt_at) if m.next_attempt_at else None,
        int(m.priority),
        m.notice,
    )


def _setup(conn: sqlite3.Connection) -> None:
    """Pragmas, the schema, and the columns added since the first release (in the thread)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(SCHEMA)
    for table, column, kind in ADDED_COLUMNS:
        present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


class SqliteStore(SessionStore):
    """Sessions and messages in one SQLite file (created with its folder when missing).

    Args:
        path: The database file.
        cache_size: Users whose active session is kept in memory (see the module docstring).
        clock: The current time (injected, like the app's): when an inbound id was seen (kept
            7 days), and what the write probe writes.

    Methods raise :class:`StoreUnavailable` when the file cannot be read or written (locked
    by another process beyond the busy timeout, read-only, disk full, I/O error); after a
    file error the connections are opened again before the next use (see the module
    docstring).
    """

    single_process = True

    def __init__(
        self, path: Path, cache_size: int = SESSION_CACHE_SIZE, clock: Clock = utc_now
    ) -> None:
        self.path = path
        self.clock = clock
        self._worker = SqliteWorker(path, _setup)
        self._reader: aiosqlite.Connection | None = None
        self._active: _Recent[SessionKey, Session | None] = _Recent(cache_size)
        self._last_in: _Recent[SessionKey, datetime] = _Recent(LAST_INBOUND_CACHE_SIZE)
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

    async def open(self) -> None:
        """Open the file (WAL, ``synchronous=NORMAL``), create the schema if needed and load
        the inboxes a previous run left."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._connect()
        self._inbox.clear()
        for row_id, key, body in await self._read(_load_inbox):
            message = InboundMessage.from_json(json.loads(body))
            self._inbox.setdefault(key, deque()).append((row_id, message))

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

    async def ping(self) -> None:
        """Run a trivial query; raises StoreUnavailable when the file cannot be read."""
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def _write_probe(self) -> None:
        """Overwrite the one row of the ``store_probe`` table (created here, not at open, so
        that a file that was read-only at start gets it once it is writable)."""
        written_at = to_iso(self.clock())

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(_CREATE_PROBE)
            conn.execute(_WRITE_PROBE, (written_at,))

        await self._write(job)

    async def close(self) -> None:
        async with self._reconnecting:
            self._file_error = None
            await self._disconnect()

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

    async def get_active(self, key: SessionKey) -> Session | None:
        cached = self._active.items.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[no-any-return]
        writes = self._writes

        def job(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute(
                "SELECT * FROM sessions WHERE channel=? AND bot_id=? AND user_id=? "
                "AND status='active'",
                (key.channel, key.bot_id, key.user_id),
            ).fetchone()
            return _session(row) if row else None

        found = await self._read(job)
        if writes == self._writes:  # no commit meanwhile could have made it stale
            self._active.put(key, found)
        return found

    def forget_cached(self, key: SessionKey) -> None:
        self._active.items.pop(key, None)

    async def get(self, session_id: str) -> Session | None:
        def job(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute("SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone()
            return _session(row) if row else None

        return await self._read(job)

    async def seen_inbound(self, channel: str, provider_id: str) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "SELECT 1 FROM inbound_seen WHERE channel=? AND provider_id=?",
                    (channel, provider_id),
                ).fetchone()
                is not None
            )

        return await self._read(job)

    async def enqueue_inbound(self, message: InboundMessage) -> bool:
        seen = (message.channel, message.message_id, to_iso(self.clock()))
        row = (
            message.channel,
            message.bot_id,
            message.user_id,
            message.message_id,
            _dumps(message.to_json()),
        )

        def job(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO inbound_seen (channel, provider_id, seen_at) VALUES (?,?,?)",
                seen,
            )
            if cursor.rowcount == 0:
                return 0
            return (
                conn.execute(
                    "INSERT INTO inbox (channel, bot_id, user_id, provider_id, body) "
                    "VALUES (?,?,?,?,?)",
                    row,
                ).lastrowid
                or 0
            )

        row_id = await self._write(job)
        if not row_id:
            return False
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        self._inbox.setdefault(key, deque()).append((row_id, message))
        return True

    async def next_inbound(self, key: SessionKey) -> InboundMessage | None:
        queued = self._inbox.get(key)
        return queued[0][1] if queued else None

    async def inbox_keys(self, limit: int) -> list[SessionKey]:
        return [key for key, queued in self._inbox.items() if queued][:limit]

    def _queued(self, message: InboundMessage) -> tuple[int, InboundMessage] | None:
        """The inbox entry ``(row id, message)`` of queued ``message``, or ``None``."""
        queued = self._inbox.get(SessionKey(message.channel, message.bot_id, message.user_id))
        for entry in queued or ():
            if entry[1].message_id == message.message_id:
                return entry
        return None

    def _unqueue(self, entry: tuple[int, InboundMessage]) -> None:
        message = entry[1]
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        queued = self._inbox[key]
        queued.remove(entry)
        if not queued:
            del self._inbox[key]

    async def commit(
        self,
        sessions: Sequence[Session],
        messages: Sequence[MessageRecord],
        consumed: InboundMessage | None = None,
    ) -> list[MessageRecord]:
        session_rows = [_session_params(s) for s in sessions]
        message_rows = [_message_params(m) for m in messages]
        gone = self._queued(consumed) if consumed is not None else None

        def job(conn: sqlite3.Connection) -> list[int | None]:
            if gone is not None:
                conn.execute("DELETE FROM inbox WHERE id=?", (gone[0],))
            elif consumed is not None:  # not queued here (nothing to find by id): by wamid
                conn.execute(
                    "DELETE FROM inbox WHERE channel=? AND provider_id=?",
                    (consumed.channel, consumed.message_id),
                )
            for row in session_rows:
                conn.execute(_UPSERT_SESSION, row)
            return [conn.execute(_INSERT_MESSAGE, row).lastrowid for row in message_rows]

        try:
            ids = await self._write(job)
        except BaseException as exc:
            for s in sessions:  # the caller may have changed them: read them again next time
                self._active.items.pop(s.key, None)
            self._writes += 1
            if isinstance(exc, sqlite3.IntegrityError):
                if "messages" in str(exc) or "provider_id" in str(exc):
                    raise DuplicateInbound(str(exc)) from exc
                raise StoreUnavailable(f"sqlite: {exc}") from exc
            raise
        self._writes += 1
        for s in sessions:
            self._active.put(s.key, s if s.status is Status.ACTIVE else None)
        for m, message_id in zip(messages, ids, strict=True):
            m.id = message_id
            if m.direction is Direction.IN and m.kind != "system":
                last = self._last_in.items.get(m.key)
                if last is None or m.created_at > last:
                    self._last_in.put(m.key, m.created_at)
        if gone is not None:
            self._unqueue(gone)
        return list(messages)

    async def due_sessions(self, now: datetime, limit: int) -> list[Session]:
        bound = (to_iso(now), limit)

        def job(conn: sqlite3.Connection) -> list[Session]:
            rows = conn.execute(
                "SELECT * FROM sessions WHERE status='active' AND expires_at <= ? "
                "ORDER BY expires_at LIMIT ?",
                bound,
            )
            return [_session(r) for r in rows]

        return await self._read(job)

    async def pending_outbound(
        self, limit: int, due_by: datetime | None = None
    ) -> list[MessageRecord]:
        if due_by is None:
            sql = "SELECT * FROM messages WHERE status='pending' ORDER BY id LIMIT ?"
            params: tuple[Any, ...] = (limit,)
        else:
            sql = (
                "SELECT * FROM messages m WHERE status='pending' "
                "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
                "AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.status='pending' "
                "AND e.channel=m.channel AND e.bot_id=m.bot_id AND e.user_id=m.user_id "
                "AND e.id < m.id) ORDER BY id LIMIT ?"
            )
            params = (to_iso(due_by), limit)
        return await self._read(lambda conn: [_message(r) for r in conn.execute(sql, params)])

    async def pending_users(self, limit: int, due_by: datetime) -> list[tuple[SessionKey, int]]:
        params = (to_iso(due_by), limit)

        def job(conn: sqlite3.Connection) -> list[tuple[SessionKey, int]]:
            rows = conn.execute(
                "SELECT channel, bot_id, user_id, priority FROM messages m "
                "WHERE status='pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
                "AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.status='pending' "
                "AND e.channel=m.channel AND e.bot_id=m.bot_id AND e.user_id=m.user_id "
                "AND e.id < m.id) ORDER BY id LIMIT ?",
                params,
            )
            return [(SessionKey(r[0], r[1], r[2]), r[3]) for r in rows]

        return await self._read(job)

    async def pending_for(self, key: SessionKey, limit: int) -> list[MessageRecord]:
        params = (key.channel, key.bot_id, key.user_id, limit)
        return await self._read(
            lambda conn: [
                _message(r)
                for r in conn.execute(
                    "SELECT * FROM messages WHERE channel=? AND bot_id=? AND user_id=? "
                    "AND status='pending' ORDER BY id LIMIT ?",
                    params,
                )
            ]
        )

    async def mark_outbound(
        self,
        message_id: int,
        status: Delivery,
        provider_id: str | None = None,
        error_code: int | None = None,
        error_detail: str | None = None,
        *,
        attempts: int | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        params = (
            status.value,
            provider_id,
            error_code,
            error_detail,
            attempts,
            to_iso(next_attempt_at) if next_attempt_at else None,
            message_id,
        )
        await self._write(
            lambda conn: conn.execute(
                "UPDATE messages SET status=?, provider_id=COALESCE(?, provider_id), "
                "error_code=?, error_detail=?, attempts=COALESCE(?, attempts), "
                "next_attempt_at=? WHERE id=?",
                params,
            )
        )

    async def resume_interrupted(self, retry_at: datetime) -> list[MessageRecord]:
        """Every message left ``sending`` is pending again, due at ``retry_at`` (one process
        per file: no attempt of this run has started yet when the sender starts)."""
        params = (INTERRUPTED_DETAIL, to_iso(retry_at))
        return await self._write(
            lambda conn: [
                _message(r)
                for r in conn.execute(
                    "UPDATE messages SET status='pending', error_code=NULL, error_detail=?, "
                    "next_attempt_at=? WHERE status='sending' RETURNING *",
                    params,
                )
            ]
        )

    async def settle_by_status(
        self, message_id: int, bot_id: str, provider_id: str
    ) -> MessageRecord | None:
        def job(conn: sqlite3.Connection) -> MessageRecord | None:
            row = conn.execute(
                "SELECT * FROM messages WHERE id=? AND direction='out' AND bot_id=? "
                "AND status IN ('pending', 'sending') AND attempts > 0",
                (message_id, bot_id),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE messages SET status='sent', provider_id=?, error_code=NULL, "
                "error_detail=NULL, next_attempt_at=NULL WHERE id=?",
                (provider_id, message_id),
            )
            return _message(row)

        return await self._write(job)

    async def last_inbound_at(self, key: SessionKey) -> datetime | None:
        known = self._last_in.items.get(key)
        if known is not None:
            return known

        def job(conn: sqlite3.Connection) -> datetime | None:
            row = conn.execute(
                "SELECT MAX(created_at) AS last FROM messages WHERE channel=? AND bot_id=? "
                "AND user_id=? AND direction='in' AND kind != 'system'",
                (key.channel, key.bot_id, key.user_id),
            ).fetchone()
            return from_iso(row["last"]) if row else None

        found = await self._read(job)
        if found is not None:
            newer = self._last_in.items.get(key)  # a commit may have stored a later one
            if newer is None or newer < found:
                self._last_in.put(key, found)
        return self._last_in.items.get(key, found)

    async def update_delivery(
        self,
        provider_id: str,
        status: Delivery,
        error_code: int | None = None,
        error_detail: str | None = None,
    ) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT id, status FROM messages WHERE provider_id=? AND direction='out'",
                (provider_id,),
            ).fetchone()
            if row is None:
                return False
            current = Delivery(row["status"])
            if status is not Delivery.FAILED and _DELIVERY_RANK.get(
                current, 99
            ) >= _DELIVERY_RANK.get(status, 0):
                return True
            conn.execute(
                "UPDATE messages SET status=?, error_code=COALESCE(?, error_code), "
                "error_detail=COALESCE(?, error_detail) WHERE id=?",
                (status.value, error_code, error_detail, row["id"]),
            )
            return True

        return await self._write(job)

    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        clause, params = _session_filter(query)
        rows = await self._all(
            f"SELECT * FROM sessions {clause} "  # noqa: S608 - fixed fragments, bound values
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [_session(r) for r in rows]

    async def messages(self, session_id: str, limit: int = 200) -> list[MessageRecord]:
        rows = await self._all(
            "SELECT * FROM (SELECT * FROM messages WHERE session_id=? ORDER BY id DESC LIMIT ?) "
            "ORDER BY id",
            (session_id, limit),
        )
        return [_message(r) for r in rows]

    # --- admin queries (issue #6) ------------------------------------------------------------

    async def count_sessions(self, query: SessionQuery) -> int:
        clause, params = _session_filter(query)
        row = await self._one(f"SELECT COUNT(*) AS n FROM sessions {clause}", params)  # noqa: S608
        return int(row["n"]) if row else 0

    async def session_stats(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> SessionStats:
        clause, params = _session_filter(
            SessionQuery(created_from=created_from, created_to=created_to)
        )
        scope = f"SELECT id FROM sessions {clause}"  # noqa: S608 - fixed fragments
        by_status = {
            r["status"]: r["n"]
            for r in await self._all(
                f"SELECT status, COUNT(*) AS n FROM sessions {clause} GROUP BY status",  # noqa: S608
                params,
            )
        }
        by_reason = {
            r["close_reason"]: r["n"]
            for r in await self._all(
                f"SELECT close_reason, COUNT(*) AS n FROM sessions {clause} "  # noqa: S608
                "GROUP BY close_reason HAVING close_reason IS NOT NULL",
                params,
            )
        }
        directions = {
            r["direction"]: r["n"]
            for r in await self._all(
                f"SELECT direction, COUNT(*) AS n FROM messages WHERE session_id IN ({scope}) "  # noqa: S608
                "GROUP BY direction",
                params,
            )
        }
        also = "AND" if clause else "WHERE"
        duration = await self._one(
            "SELECT AVG((julianday(closed_at) - julianday(created_at)) * 86400.0) AS s "  # noqa: S608
            f"FROM sessions {clause} {also} closed_at IS NOT NULL",
            params,
        )
        flows: dict[str, dict[str, int]] = {}
        for r in await self._all(
            "SELECT flow_id, COALESCE(close_reason, 'active') AS reason, COUNT(*) AS n "  # noqa: S608
            f"FROM sessions {clause} {also} flow_id IS NOT NULL GROUP BY flow_id, reason",
            params,
        ):
            flows.setdefault(r["flow_id"], {})[r["reason"]] = r["n"]
        sessions = sum(by_status.values())
        messages_in, messages_out = directions.get("in", 0), directions.get("out", 0)
        return SessionStats(
            sessions=sessions,
            by_status=by_status,
            by_close_reason=by_reason,
            messages_in=messages_in,
            messages_out=messages_out,
            avg_duration_s=duration["s"] if duration and duration["s"] is not None else None,
            avg_messages=(messages_in + messages_out) / sessions if sessions else None,
            flows={
                flow: FlowStats(sessions=sum(reasons.values()), by_close_reason=reasons)
                for flow, reasons in flows.items()
            },
        )

    async def delete_user(self, bot_id: str, user_id: str) -> DeletedCounts:
        def job(conn: sqlite3.Connection) -> DeletedCounts:
            messages = conn.execute(
                "DELETE FROM messages WHERE (bot_id=? AND user_id=?) OR session_id IN "
                "(SELECT id FROM sessions WHERE bot_id=? AND user_id=?)",
                (bot_id, user_id, bot_id, user_id),
            )
            sessions = conn.execute(
                "DELETE FROM sessions WHERE bot_id=? AND user_id=?", (bot_id, user_id)
            )
            return DeletedCounts(sessions=sessions.rowcount, messages=messages.rowcount)

        counts = await self._write(job)
        self._writes += 1

        def theirs(key: SessionKey) -> bool:
            return key.bot_id == bot_id and key.user_id == user_id

        self._active.drop_where(theirs)
        self._last_in.drop_where(theirs)
        return counts

    async def set_opt_out(self, key: SessionKey, at: datetime | None) -> None:
        def job(conn: sqlite3.Connection) -> None:
            if at is None:
                conn.execute(
                    "DELETE FROM opt_outs WHERE channel=? AND bot_id=? AND user_id=?",
                    (key.channel, key.bot_id, key.user_id),
                )
            else:
                conn.execute(
                    "INSERT INTO opt_outs (channel, bot_id, user_id, opted_out_at) "
                    "VALUES (?,?,?,?) ON CONFLICT DO UPDATE SET opted_out_at=excluded.opted_out_at",
                    (key.channel, key.bot_id, key.user_id, to_iso(at)),
                )

        await self._write(job)

    async def opt_outs(self, keys: Sequence[SessionKey]) -> dict[SessionKey, datetime]:
        wanted = list(dict.fromkeys(keys))
        found: dict[SessionKey, datetime] = {}
        for start in range(0, len(wanted), 300):  # 3 bound values each, under SQLite's 999
            chunk = wanted[start : start + 300]
            where = " OR ".join("(channel=? AND bot_id=? AND user_id=?)" for _ in chunk)
            params = [v for k in chunk for v in (k.channel, k.bot_id, k.user_id)]
            rows = await self._all(
                f"SELECT * FROM opt_outs WHERE {where}",  # noqa: S608 - fixed fragments
                params,
            )
            for row in rows:
                moment = from_iso(row["opted_out_at"])
                assert moment is not None
                found[SessionKey(row["channel"], row["bot_id"], row["user_id"])] = moment
        return found

    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        cutoff = to_iso(closed_before)
        seen_cutoff = to_iso(self.clock() - timedelta(days=7))

        def job(conn: sqlite3.Connection) -> DeletedCounts:
            old = "SELECT id FROM sessions WHERE status != 'active' AND closed_at < ?"
            messages = conn.execute(
                f"DELETE FROM messages WHERE session_id IN ({old})",  # noqa: S608 - fixed
                (cutoff,),
            )
            sessions = conn.execute(
                "DELETE FROM sessions WHERE status != 'active' AND closed_at < ?", (cutoff,)
            )
            conn.execute("DELETE FROM inbound_seen WHERE seen_at < ?", (seen_cutoff,))
            return DeletedCounts(sessions=sessions.rowcount, messages=messages.rowcount)

        counts = await self._write(job)
        self._last_in.items.clear()  # purged history may have held a user's last message
        return counts

    # --- dashboard queries (issue #8) --------------------------------------------------------

    async def message_summaries(self, session_ids: Sequence[str]) -> dict[str, MessageSummary]:
        ids = list(dict.fromkeys(session_ids))
        found: dict[str, MessageSummary] = {}
        for start in range(0, len(ids), _MAX_BOUND):
            chunk = ids[start : start + _MAX_BOUND]
            marks = ",".join("?" * len(chunk))
            rows = await self._all(
                "SELECT g.session_id, g.n_in, g.n_out, m.created_at FROM ("  # noqa: S608 - marks
                "SELECT session_id, SUM(direction='in') AS n_in, SUM(direction='out') AS n_out, "
                f"MAX(id) AS last_id FROM messages WHERE session_id IN ({marks}) "
                "GROUP BY session_id) g JOIN messages m ON m.id = g.last_id",
                chunk,
            )
            for r in rows:
                last = from_iso(r["created_at"])
                assert last is not None
                found[r["session_id"]] = MessageSummary(r["n_in"], r["n_out"], last)
        return found

    async def hourly_activity(self, since: datetime, until: datetime) -> HourlyActivity:
        bounds = (to_iso(since), to_iso(until))
        opened = {
            _hour(r["hour"]): r["n"]
            for r in await self._all(
                "SELECT substr(created_at, 1, 13) AS hour, COUNT(*) AS n FROM sessions "
                "WHERE created_at >= ? AND created_at < ? GROUP BY hour",
                bounds,
            )
        }
        closed: dict[datetime, dict[str, int]] = {}
        for r in await self._all(
            "SELECT substr(closed_at, 1, 13) AS hour, COALESCE(close_reason, status) AS reason, "
            "COUNT(*) AS n FROM sessions WHERE closed_at >= ? AND closed_at < ? "
            "GROUP BY hour, reason",
            bounds,
        ):
            closed.setdefault(_hour(r["hour"]), {})[r["reason"]] = r["n"]
        return HourlyActivity(opened=opened, closed=closed)

    async def flow_exits(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> list[StepExit]:
        clause, params = _session_filter(
            SessionQuery(created_from=created_from, created_to=created_to)
        )
        also = "AND" if clause else "WHERE"
        rows = await self._all(
            "SELECT s.flow_id, COALESCE(s.close_reason, 'active') AS outcome, "  # noqa: S608
            "COALESCE(s.step_id, (SELECT m.step_id FROM messages m WHERE m.session_id = s.id "
            "AND m.step_id IS NOT NULL ORDER BY m.id DESC LIMIT 1)) AS step, COUNT(*) AS n "
            f"FROM sessions s {clause} {also} s.flow_id IS NOT NULL "
            "GROUP BY s.flow_id, outcome, step",
            params,
        )
        return [StepExit(r["flow_id"], r["step"], r["outcome"], r["n"]) for r in rows]


_MISSING: Any = object()


def _load_inbox(conn: sqlite3.Connection) -> list[tuple[int, SessionKey, str]]:
    """Every queued inbound message, oldest first: ``(row id, key, JSON body)``."""
    rows = conn.execute("SELECT id, channel, bot_id, user_id, body FROM inbox ORDER BY id")
    return [(r["id"], SessionKey(r["channel"], r["bot_id"], r["user_id"]), r["body"]) for r in rows]


_MAX_BOUND = 500
"""Session ids bound in one ``IN (...)`` (SQLite allows 32,766 variables; stay far below)."""


def _hour(prefix: str) -> datetime:
    """The aware UTC start of the hour written as :func:`to_iso`'s first 13 characters
    (``2026-11-21T12``)."""
    return datetime.fromisoformat(f"{prefix}:00:00+00:00")


_OPTED_OUT = (
    "EXISTS (SELECT 1 FROM opt_outs o WHERE o.channel=sessions.channel "
    "AND o.bot_id=sessions.bot_id AND o.user_id=sessions.user_id)"
)
"""The session's user is opted out (``sessions`` unaliased: list and count queries)."""


def _session_filter(query: SessionQuery) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (or ``""``) and its bound values for ``query``'s filters."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("user_id", query.user_id),
        ("status", query.status),
        ("channel", query.channel),
        ("bot_id", query.bot_id),
        ("flow_id", query.flow_id),
    ):
        if value is not None:
            where.append(f"{column}=?")
            params.append(value)
    if query.opted_out is not None:
        where.append(_OPTED_OUT if query.opted_out else f"NOT {_OPTED_OUT}")
    if query.channels:
        where.append(f"channel IN ({','.join('?' * len(query.channels))})")
        params.extend(query.channels)
    for column, op, moment in (
        ("created_at", ">=", query.created_from),
        ("created_at", "<", query.created_to),
        ("last_activity_at", ">=", query.active_from),
        ("last_activity_at", "<", query.active_to),
    ):
        if moment is not None:
            where.append(f"{column}{op}?")
            params.append(to_iso(moment))
    return (f"WHERE {' AND '.join(where)}" if where else ""), params
