"""A conversation's state in SQLite: active sessions (cached), inboxes (in memory, written
through), a turn's commit, and opt-outs."""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from datetime import datetime

from bot.messages import InboundMessage
from bot.sessions.model import Direction, MessageRecord, Session, SessionKey
from bot.sessions.sqlite.connection import _MISSING, SqliteConnection
from bot.sessions.sqlite.rows import (
    INSERT_MESSAGE,
    UPSERT_SESSION,
    dumps,
    from_iso,
    message_params,
    session_of_row,
    session_params,
    to_iso,
)
from bot.sessions.sqlite.schema import OPEN
from bot.sessions.store import ConversationStore, DuplicateInbound, StoreUnavailable


class SqliteConversation(SqliteConnection, ConversationStore):
    """:class:`~bot.sessions.store.ConversationStore` on SQLite."""

    async def get_active(self, key: SessionKey) -> Session | None:
        cached = self._active.items.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[no-any-return]
        writes = self._writes

        def job(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute(
                "SELECT * FROM sessions WHERE channel=? AND bot_id=? AND user_id=? "  # noqa: S608
                f"AND {OPEN}",
                (key.channel, key.bot_id, key.user_id),
            ).fetchone()
            return session_of_row(row) if row else None

        found = await self._read(job)
        if writes == self._writes:  # no commit meanwhile could have made it stale
            self._active.put(key, found)
        return found

    def forget_cached(self, key: SessionKey) -> None:
        self._active.items.pop(key, None)

    async def get(self, session_id: str) -> Session | None:
        def job(conn: sqlite3.Connection) -> Session | None:
            row = conn.execute("SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone()
            return session_of_row(row) if row else None

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
            dumps(message.to_json()),
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
        session_rows = [session_params(s) for s in sessions]
        message_rows = [message_params(m) for m in messages]
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
                conn.execute(UPSERT_SESSION, row)
            return [conn.execute(INSERT_MESSAGE, row).lastrowid for row in message_rows]

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
            self._active.put(s.key, s if s.status.is_open else None)
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
                f"SELECT * FROM sessions WHERE {OPEN} AND expires_at <= ? "  # noqa: S608
                "ORDER BY expires_at LIMIT ?",
                bound,
            )
            return [session_of_row(r) for r in rows]

        return await self._read(job)

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
