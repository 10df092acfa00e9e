"""The admin and dashboard queries on SQLite's read-only connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.sessions.model import MessageRecord, Session
from bot.sessions.sqlite.connection import SqliteConnection
from bot.sessions.sqlite.rows import from_iso, message_of_row, session_of_row, to_iso
from bot.sessions.store import (
    FlowStats,
    HandoffCount,
    HourlyActivity,
    MessageSummary,
    QueryStore,
    SessionQuery,
    SessionStats,
    StepExit,
)


class SqliteQueries(SqliteConnection, QueryStore):
    """:class:`~bot.sessions.store.QueryStore` on SQLite."""

    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        clause, params = _session_filter(query)
        rows = await self._all(
            f"SELECT * FROM sessions {clause} "  # noqa: S608 - fixed fragments, bound values
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [session_of_row(r) for r in rows]

    async def messages(self, session_id: str, limit: int = 200) -> list[MessageRecord]:
        rows = await self._all(
            "SELECT * FROM (SELECT * FROM messages WHERE session_id=? ORDER BY id DESC LIMIT ?) "
            "ORDER BY id",
            (session_id, limit),
        )
        return [message_of_row(r) for r in rows]

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
        handoffs = tuple(
            HandoffCount(r["reason"], r["flow"], r["step"], r["n"], r["replied"], r["wait"] or 0.0)
            for r in await self._all(
                f"{_HANDOFFS} FROM sessions {clause} {also} handoff IS NOT NULL "
                "GROUP BY reason, flow, step",
                params,
            )
        )
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
            handoffs=handoffs,
        )

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


_HANDOFFS = (
    "SELECT json_extract(handoff, '$.reason') AS reason, "
    "json_extract(handoff, '$.flow_id') AS flow, json_extract(handoff, '$.step_id') AS step, "
    "COUNT(*) AS n, COUNT(json_extract(handoff, '$.first_reply_at')) AS replied, "
    "SUM((julianday(json_extract(handoff, '$.first_reply_at')) "
    "- julianday(json_extract(handoff, '$.since'))) * 86400.0) AS wait"
)
"""The columns of the handoff counts (:class:`HandoffCount`) over ``sessions.handoff``."""


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
