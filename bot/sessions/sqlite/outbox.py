"""The outbox in SQLite: pending messages, the results of sending them, delivery statuses."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from bot.sessions.model import INTERRUPTED_DETAIL, Delivery, MessageRecord, SessionKey
from bot.sessions.sqlite.connection import SqliteConnection
from bot.sessions.sqlite.rows import DELIVERY_RANK, from_iso, message_of_row, to_iso
from bot.sessions.store import OutboxStore


class SqliteOutbox(SqliteConnection, OutboxStore):
    """:class:`~bot.sessions.store.OutboxStore` on SQLite."""

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
        return await self._read(lambda conn: [message_of_row(r) for r in conn.execute(sql, params)])

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
                message_of_row(r)
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
                message_of_row(r)
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
            return message_of_row(row)

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
            if status is not Delivery.FAILED and DELIVERY_RANK.get(
                current, 99
            ) >= DELIVERY_RANK.get(status, 0):
                return True
            conn.execute(
                "UPDATE messages SET status=?, error_code=COALESCE(?, error_code), "
                "error_detail=COALESCE(?, error_detail) WHERE id=?",
                (status.value, error_code, error_detail, row["id"]),
            )
            return True

        return await self._write(job)
