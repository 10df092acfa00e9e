"""Store conformance for handoffs (issue 19), on SQLite and a real Redis: a session a person
has is the user's open session (found, due, listed by status), its handoff (who holds it and
since when) survives the round trip and the close, and the statistics count it."""

from __future__ import annotations

import json
from datetime import timedelta

import redis.asyncio as aioredis

from bot.sessions.model import Handoff, Session, SessionKey, Status
from bot.sessions.redis import RedisStore
from bot.sessions.redis import keys as redis_keys
from bot.sessions.store import SessionQuery, SessionStore
from tests.redis_server import RedisServer
from tests.sessions.test_store import KEY, T0, outbound, session

pytest_plugins = ("tests.sessions.test_store",)  # its `store` fixture: every backend


def handed_off(sid: str = "s1", agent: str | None = None, key: SessionKey = KEY) -> Session:
    s = session(key=key, sid=sid)
    s.status = Status.HANDOFF
    s.flow_id, s.step_id = "support", "describe"
    s.expires_at = T0 + timedelta(minutes=1440)
    s.handoff = Handoff(
        reason="invoice_not_found",
        since=T0,
        flow_id="support",
        step_id="to_person",
        agent=agent,
        taken_at=T0 + timedelta(seconds=30) if agent else None,
    )
    return s


async def test_a_session_in_handoff_is_the_open_one_with_its_holder(store: SessionStore) -> None:
    await store.commit([handed_off(agent="ana")], [outbound("Te paso con una persona")])
    store.forget_cached(KEY)
    active = await store.get_active(KEY)
    assert active is not None and active.status is Status.HANDOFF
    assert active.handoff == Handoff(
        "invoice_not_found", T0, "support", "to_person", "ana", T0 + timedelta(seconds=30)
    )
    assert (active.flow_id, active.step_id) == ("support", "describe")
    by_id = await store.get("s1")
    assert by_id is not None and by_id.handoff == active.handoff
    listed = await store.list_sessions(SessionQuery(status="handoff"))
    assert [s.id for s in listed] == ["s1"]
    assert await store.list_sessions(SessionQuery(status="active")) == []


async def test_the_sweeper_finds_a_due_handoff_and_retention_keeps_it(store: SessionStore) -> None:
    await store.commit([handed_off()], [])
    assert await store.due_sessions(T0 + timedelta(minutes=1439), 10) == []
    due = await store.due_sessions(T0 + timedelta(minutes=1440), 10)
    assert [(s.id, s.status) for s in due] == [("s1", Status.HANDOFF)]
    deleted = await store.purge_closed(T0 + timedelta(days=30))
    assert deleted.sessions == 0
    assert await store.get("s1") is not None


async def test_only_one_open_session_per_user_and_a_closed_one_keeps_its_handoff(
    store: SessionStore,
) -> None:
    s = handed_off(agent="ana")
    await store.commit([s], [])
    s.status, s.close_reason = Status.TIMEOUT, "handoff_timeout"
    s.closed_at, s.expires_at = T0 + timedelta(days=1), None
    assert s.handoff is not None
    s.handoff.ended_at = s.closed_at
    await store.commit([s], [])
    store.forget_cached(KEY)
    assert await store.get_active(KEY) is None
    assert await store.due_sessions(T0 + timedelta(days=2), 10) == []
    closed = await store.get("s1")
    assert closed is not None and closed.handoff is not None
    assert (closed.handoff.agent, closed.handoff.ended_at) == ("ana", T0 + timedelta(days=1))


async def test_stats_count_handoffs_per_reason_flow_and_step(store: SessionStore) -> None:
    first = handed_off("s1", agent="ana")
    assert first.handoff is not None
    first.handoff.first_reply_at = T0 + timedelta(seconds=90)
    other = handed_off("s2", key=SessionKey("whatsapp", "123", "5491155550002"))
    await store.commit([first, other], [])
    stats = await store.session_stats()
    assert stats.by_status == {"handoff": 2}
    [row] = stats.handoffs
    assert (row.reason, row.flow_id, row.step_id, row.sessions) == (
        "invoice_not_found",
        "support",
        "to_person",
        2,
    )
    assert (row.replied, round(row.first_reply_s, 3)) == (1, 90.0)


async def test_redis_keeps_the_holder_in_the_users_session_hash_and_indexes_the_queue(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    store = RedisStore(redis_server.url)
    await store.open()
    try:
        s = handed_off(agent="ana")
        await store.commit([s], [])
        client = aioredis.from_url(redis_server.url, decode_responses=True)
        try:
            fields = await client.hgetall(redis_keys.session(KEY))
            status = await client.get(redis_keys.session_status(KEY))
            queued = await client.zrange(redis_keys.SESSIONS_HANDOFF, 0, -1)
            s.status, s.close_reason, s.closed_at = Status.COMPLETED, "operator", T0
            await store.commit([s], [])
            left = await client.zrange(redis_keys.SESSIONS_HANDOFF, 0, -1)
        finally:
            await client.aclose()
    finally:
        await store.close()
    assert (fields["status"], status) == ("handoff", "handoff")
    assert (queued, left) == (["s1"], [])  # the agents' queue index
    held = json.loads(fields["handoff"])
    assert (held["agent"], held["reason"], held["step_id"]) == (
        "ana",
        "invoice_not_found",
        "to_person",
    )
