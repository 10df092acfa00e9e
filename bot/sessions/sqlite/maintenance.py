"""The SQLite store's life and upkeep: open, close, probes, retention, erasure."""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from datetime import datetime, timedelta

from bot.messages import InboundMessage
from bot.sessions.model import SessionKey
from bot.sessions.sqlite.connection import SqliteConnection
from bot.sessions.sqlite.rows import to_iso
from bot.sessions.sqlite.schema import CREATE_PROBE, OPEN, WRITE_PROBE, load_inbox
from bot.sessions.store import DeletedCounts, MaintenanceStore


class SqliteMaintenance(SqliteConnection, MaintenanceStore):
    """:class:`~bot.sessions.store.MaintenanceStore` on SQLite."""

    async def open(self) -> None:
        """Open the file (WAL, ``synchronous=NORMAL``), create the schema if needed and load
        the inboxes a previous run left."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._connect()
        self._inbox.clear()
        for row_id, key, body in await self._read(load_inbox):
            message = InboundMessage.from_json(json.loads(body))
            self._inbox.setdefault(key, deque()).append((row_id, message))

    async def close(self) -> None:
        async with self._reconnecting:
            self._file_error = None
            await self._disconnect()

    async def ping(self) -> None:
        """Run a trivial query; raises StoreUnavailable when the file cannot be read."""
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def _write_probe(self) -> None:
        """Overwrite the one row of the ``store_probe`` table (created here, not at open, so
        that a file that was read-only at start gets it once it is writable)."""
        written_at = to_iso(self.clock())

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(CREATE_PROBE)
            conn.execute(WRITE_PROBE, (written_at,))

        await self._write(job)

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

    async def purge_closed(self, closed_before: datetime) -> DeletedCounts:
        cutoff = to_iso(closed_before)
        seen_cutoff = to_iso(self.clock() - timedelta(days=7))

        def job(conn: sqlite3.Connection) -> DeletedCounts:
            old = f"SELECT id FROM sessions WHERE NOT {OPEN} AND closed_at < ?"  # noqa: S608
            messages = conn.execute(
                f"DELETE FROM messages WHERE session_id IN ({old})",  # noqa: S608 - fixed
                (cutoff,),
            )
            sessions = conn.execute(
                f"DELETE FROM sessions WHERE NOT {OPEN} AND closed_at < ?",  # noqa: S608
                (cutoff,),
            )
            conn.execute("DELETE FROM inbound_seen WHERE seen_at < ?", (seen_cutoff,))
            return DeletedCounts(sessions=sessions.rowcount, messages=messages.rowcount)

        counts = await self._write(job)
        self._last_in.items.clear()  # purged history may have held a user's last message
        return counts
