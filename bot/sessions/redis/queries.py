"""The admin and dashboard queries on Redis (scans of the session index)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.sessions.model import MessageRecord, Session
from bot.sessions.redis import keys as redis_keys
from bot.sessions.redis.codec import hour_start, message_of
from bot.sessions.redis.connection import STEP_BATCH, STEP_TAIL, translate_errors
from bot.sessions.redis.statuses import RedisStatuses
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


@translate_errors
class RedisQueries(RedisStatuses, QueryStore):
    """:class:`~bot.sessions.store.QueryStore` on Redis."""

    async def list_sessions(self, query: SessionQuery) -> list[Session]:
        found: list[Session] = []
        skipped = 0
        async for session in self._matching(query):
            if skipped < query.offset:
                skipped += 1
                continue
            found.append(session)
            if len(found) >= query.limit:
                break
        return found

    async def count_sessions(self, query: SessionQuery) -> int:
        return sum([1 async for _ in self._matching(query)])

    async def session_stats(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> SessionStats:
        query = SessionQuery(created_from=created_from, created_to=created_to)
        by_status: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        flows: dict[str, dict[str, int]] = {}
        durations: list[float] = []
        ids: list[str] = []
        handoffs: dict[tuple[str, str | None, str | None], tuple[int, int, float]] = {}
        async for s in self._matching(query):
            ids.append(s.id)
            by_status[s.status.value] = by_status.get(s.status.value, 0) + 1
            if s.close_reason:
                by_reason[s.close_reason] = by_reason.get(s.close_reason, 0) + 1
            if s.closed_at is not None:
                durations.append((s.closed_at - s.created_at).total_seconds())
            if s.handoff is not None:
                h = s.handoff
                where = (h.reason, h.flow_id, h.step_id)
                n, replied, wait = handoffs.get(where, (0, 0, 0.0))
                if h.first_reply_at is not None:
                    replied, wait = replied + 1, wait + (h.first_reply_at - h.since).total_seconds()
                handoffs[where] = (n + 1, replied, wait)
            if s.flow_id:
                reason = s.close_reason or "active"
                per_flow = flows.setdefault(s.flow_id, {})
                per_flow[reason] = per_flow.get(reason, 0) + 1
        messages_in = messages_out = 0
        tags = await self._tags_of(ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hmget(tags[sid] + redis_keys.session_by_id(sid), "messagesIn", "messagesOut")
            for counts in await pipe.execute() if ids else []:
                messages_in += int(counts[0] or 0)
                messages_out += int(counts[1] or 0)
        sessions = len(ids)
        return SessionStats(
            sessions=sessions,
            by_status=by_status,
            by_close_reason=by_reason,
            messages_in=messages_in,
            messages_out=messages_out,
            avg_duration_s=sum(durations) / len(durations) if durations else None,
            avg_messages=(messages_in + messages_out) / sessions if sessions else None,
            flows={
                flow: FlowStats(sessions=sum(reasons.values()), by_close_reason=reasons)
                for flow, reasons in flows.items()
            },
            handoffs=tuple(HandoffCount(*where, *n) for where, n in handoffs.items()),
        )

    async def messages(self, session_id: str, limit: int = 200) -> list[MessageRecord]:
        prefix = (await self._tags_of([session_id])).get(session_id)
        if prefix is None:
            return []
        ids = await self.redis.lrange(prefix + redis_keys.session_messages(session_id), -limit, -1)
        raws = await self._mget([prefix + redis_keys.message(i) for i in ids])
        return await self._with_statuses([message_of(r) for r in raws if r])

    async def message_summaries(self, session_ids: Sequence[str]) -> dict[str, MessageSummary]:
        tags = await self._tags_of(list(dict.fromkeys(session_ids)))
        ids = list(tags)
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hmget(tags[sid] + redis_keys.session_by_id(sid), "messagesIn", "messagesOut")
                pipe.lindex(tags[sid] + redis_keys.session_messages(sid), -1)
            replies = await pipe.execute()
        counts, newest = replies[0::2], replies[1::2]
        with_messages = [
            (sid, c, last) for sid, c, last in zip(ids, counts, newest, strict=True) if last
        ]
        if not with_messages:
            return {}
        raws = await self._mget(
            [tags[sid] + redis_keys.message(last) for sid, _, last in with_messages]
        )
        found: dict[str, MessageSummary] = {}
        for (sid, (n_in, n_out), _), raw in zip(with_messages, raws, strict=True):
            if raw:
                found[sid] = MessageSummary(
                    int(n_in or 0), int(n_out or 0), message_of(raw).created_at
                )
        return found

    async def hourly_activity(self, since: datetime, until: datetime) -> HourlyActivity:
        """Reads every session created before ``until`` (no index by close time)."""
        opened: dict[datetime, int] = {}
        closed: dict[datetime, dict[str, int]] = {}
        async for s in self._matching(SessionQuery(created_to=until)):
            if since <= s.created_at < until:
                hour = hour_start(s.created_at)
                opened[hour] = opened.get(hour, 0) + 1
            if s.closed_at is not None and since <= s.closed_at < until:
                per_hour = closed.setdefault(hour_start(s.closed_at), {})
                reason = s.close_reason or s.status.value
                per_hour[reason] = per_hour.get(reason, 0) + 1
        return HourlyActivity(opened=opened, closed=closed)

    async def flow_exits(
        self, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> list[StepExit]:
        counts: dict[tuple[str, str | None, str], int] = {}
        pending: list[Session] = []  # closed sessions whose last step is read from messages

        async def resolve() -> None:
            steps = await self._last_steps([s.id for s in pending])
            for session, step in zip(pending, steps, strict=True):
                assert session.flow_id is not None
                row = (session.flow_id, step, session.close_reason or session.status.value)
                counts[row] = counts.get(row, 0) + 1
            pending.clear()

        query = SessionQuery(created_from=created_from, created_to=created_to)
        async for s in self._matching(query):
            if s.flow_id is None:
                continue
            if s.step_id is not None or s.status.is_open:
                row = (s.flow_id, s.step_id, s.close_reason or "active")
                counts[row] = counts.get(row, 0) + 1
                continue
            pending.append(s)
            if len(pending) >= STEP_BATCH:
                await resolve()
        await resolve()
        return [StepExit(flow, step, outcome, n) for (flow, step, outcome), n in counts.items()]

    async def _last_steps(self, session_ids: Sequence[str]) -> list[str | None]:
        """Per session, the ``step_id`` of its newest message that has one (``None``: none).

        Reads the last :data:`STEP_TAIL` messages of each session, and all of them only for a
        session whose tail has no step (a long exchange after its flow)."""
        if not session_ids:
            return []
        tags = await self._tags_of(session_ids)
        names = [tags.get(sid, "") + redis_keys.session_messages(sid) for sid in session_ids]
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.lrange(name, -STEP_TAIL, -1)
            tails = await pipe.execute()
        steps: list[str | None] = []
        for name, tail in zip(names, tails, strict=True):
            step = await self._newest_step(tail)
            if step is None and len(tail) == STEP_TAIL:
                every = await self.redis.lrange(name, 0, -1)
                step = await self._newest_step(every)
            steps.append(step)
        return steps

    async def _newest_step(self, message_ids: Sequence[str]) -> str | None:
        if not message_ids:
            return None
        tags = self.tags
        raws = await self._mget([tags.of_message(i) + redis_keys.message(i) for i in message_ids])
        for raw in reversed(raws):
            if raw:
                step: str | None = json.loads(raw).get("step_id")
                if step is not None:
                    return step
        return None
