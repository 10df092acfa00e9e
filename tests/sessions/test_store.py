"""Store conformance: the same tests against every backend (SQLite, a real Redis and a real
Redis Cluster of 3 masters)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.base import InboundKind, InboundMessage
from bot.sessions.model import (
    Delivery,
    Direction,
    MessageRecord,
    Priority,
    Session,
    SessionKey,
    Status,
)
from bot.sessions.redis import RedisStore
from bot.sessions.sqlite import SqliteStore
from bot.sessions.store import DuplicateInbound, SessionQuery, SessionStore
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY = SessionKey("whatsapp", "123", "5491155550001")


def session(key: SessionKey = KEY, expires_in_min: float = 30, sid: str = "s1") -> Session:
    return Session(
        id=sid,
        key=key,
        status=Status.ACTIVE,
        created_at=T0,
        last_activity_at=T0,
        expires_at=T0 + timedelta(minutes=expires_in_min),
        data={"name": "José"},
        language="es",
    )


def inbound(provider_id: str, sid: str | None = "s1") -> MessageRecord:
    return MessageRecord(
        session_id=sid,
        key=KEY,
        direction=Direction.IN,
        kind="text",
        text="hola",
        created_at=T0,
        provider_id=provider_id,
    )


def outbound(text: str, sid: str = "s1") -> MessageRecord:
    return MessageRecord(
        session_id=sid,
        key=KEY,
        direction=Direction.OUT,
        kind="text",
        text=text,
        created_at=T0,
        status=Delivery.PENDING,
    )


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    backend: SessionStore
    if request.param == "sqlite":
        backend = SqliteStore(tmp_path / "nested" / "bot.db")
    elif request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        backend = RedisStore(server.url)
    else:
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        backend = RedisStore(cluster.url)
    await backend.open()
    yield backend
    await backend.close()


async def test_a_committed_session_reads_back_equal(store: SessionStore) -> None:
    original = session()
    await store.commit([original], [inbound("wamid.1"), outbound("hi")])
    assert await store.get_active(KEY) == original
    assert await store.get("s1") == original
    history = await store.messages("s1")
    assert [(m.direction, m.text, m.status) for m in history] == [
        (Direction.IN, "hola", Delivery.RECEIVED),
        (Direction.OUT, "hi", Delivery.PENDING),
    ]


async def test_a_duplicate_inbound_writes_nothing(store: SessionStore) -> None:
    await store.commit([session()], [inbound("wamid.1")])
    changed = session()
    changed.data = {"changed": True}
    with pytest.raises(DuplicateInbound):
        await store.commit([changed], [inbound("wamid.1"), outbound("again")])
    assert (await store.get("s1")).data == {"name": "José"}  # type: ignore[union-attr]
    assert len(await store.messages("s1")) == 1


def text_in(provider_id: str, user: str = KEY.user_id, text: str = "hola") -> InboundMessage:
    return InboundMessage(
        channel="whatsapp",
        bot_id=KEY.bot_id,
        user_id=user,
        message_id=provider_id,
        kind=InboundKind.TEXT,
        text=text,
        timestamp=T0,
        display_name="Ana",
        language="es",
    )


async def test_the_inbox_keeps_each_users_order_and_drops_duplicates(store: SessionStore) -> None:
    assert await store.enqueue_inbound(text_in("w1", text="uno"))
    assert await store.enqueue_inbound(text_in("w2", user="2", text="otro"))
    assert await store.enqueue_inbound(text_in("w3", text="dos"))
    assert not await store.enqueue_inbound(text_in("w1", text="uno"))
    assert await store.seen_inbound("whatsapp", "w1")
    assert not await store.seen_inbound("whatsapp", "w9")
    assert {k.user_id for k in await store.inbox_keys(10)} == {KEY.user_id, "2"}

    first = await store.next_inbound(KEY)
    assert first == text_in("w1", text="uno")
    assert await store.next_inbound(KEY) == first  # peeking does not remove
    await store.commit([session()], [inbound("w1")], consumed=first)
    second = await store.next_inbound(KEY)
    assert second is not None and second.text == "dos"
    await store.commit([], [], consumed=second)
    assert await store.next_inbound(KEY) is None
    assert [k.user_id for k in await store.inbox_keys(10)] == ["2"]


async def test_a_failed_commit_leaves_the_message_queued(store: SessionStore) -> None:
    await store.commit([session()], [inbound("w1")])
    assert await store.enqueue_inbound(text_in("w2"))
    queued = await store.next_inbound(KEY)
    with pytest.raises(DuplicateInbound):
        await store.commit([session()], [inbound("w1")], consumed=queued)
    assert await store.next_inbound(KEY) == queued


async def test_due_sessions_are_the_active_ones_past_their_deadline(store: SessionStore) -> None:
    other = SessionKey("whatsapp", "123", "2")
    closed = session(SessionKey("whatsapp", "123", "3"), -10, "s3")
    closed.status = Status.COMPLETED
    await store.commit([session(expires_in_min=5), session(other, -1, "s2"), closed], [])
    due = await store.due_sessions(T0, 10)
    assert [s.id for s in due] == ["s2"]
    assert [s.id for s in await store.due_sessions(T0 + timedelta(minutes=6), 10)] == ["s2", "s1"]


async def test_outbound_results_and_statuses(store: SessionStore) -> None:
    records = await store.commit([session()], [outbound("a"), outbound("b")])
    assert [m.id for m in await store.pending_outbound(10)] == [r.id for r in records]
    assert records[0].id is not None and records[1].id is not None
    await store.mark_outbound(records[0].id, Delivery.SENT, provider_id="wamid.out1")
    await store.mark_outbound(
        records[1].id, Delivery.FAILED, error_code=131047, error_detail="window"
    )
    assert await store.pending_outbound(10) == []
    assert await store.update_delivery("wamid.out1", Delivery.READ)
    assert await store.update_delivery("wamid.out1", Delivery.DELIVERED)  # late: ignored
    assert not await store.update_delivery("wamid.unknown", Delivery.READ)
    history = await store.messages("s1")
    assert [(m.status, m.error_code) for m in history] == [
        (Delivery.READ, None),
        (Delivery.FAILED, 131047),
    ]


async def test_list_sessions_filters_and_paginates(store: SessionStore) -> None:
    a = session(sid="a")
    b = session(SessionKey("whatsapp", "123", "2"), sid="b")
    b.created_at = T0 + timedelta(minutes=1)
    b.status = Status.TIMEOUT
    await store.commit([a, b], [])
    assert [s.id for s in await store.list_sessions(SessionQuery())] == ["b", "a"]
    assert [s.id for s in await store.list_sessions(SessionQuery(status="timeout"))] == ["b"]
    assert [s.id for s in await store.list_sessions(SessionQuery(user_id=KEY.user_id))] == ["a"]
    assert [s.id for s in await store.list_sessions(SessionQuery(limit=1, offset=1))] == ["a"]


async def test_data_survives_reconnecting(store: SessionStore) -> None:
    await store.commit([session()], [inbound("wamid.1")])
    await store.enqueue_inbound(text_in("w2"))
    await store.close()
    await store.open()
    assert await store.get_active(KEY) == session()
    assert await store.next_inbound(KEY) == text_in("w2")
    await store.ping()


@pytest.mark.parametrize("kind", ["user_locks", "outbox_locks"])
async def test_locks_serialize_one_user(store: SessionStore, kind: str) -> None:
    import asyncio

    locks = getattr(store, kind)()
    order: list[str] = []
    arrived = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def work(name: str) -> None:
        arrived[name].set()  # and asks for the lock without yielding first
        async with locks.lock(KEY):
            order.append(f"in {name}")
            for event in arrived.values():  # the other one is waiting for the lock now
                await event.wait()
            await asyncio.sleep(0)
            order.append(f"out {name}")

    await asyncio.gather(work("a"), work("b"))
    assert order == ["in a", "out a", "in b", "out b"]


async def test_purge_deletes_only_sessions_closed_before_the_cutoff(store: SessionStore) -> None:
    old = session(sid="old")
    old.status, old.closed_at, old.expires_at = Status.COMPLETED, T0, None
    recent = session(SessionKey("whatsapp", "123", "2"), sid="recent")
    recent.status, recent.closed_at, recent.expires_at = (
        Status.TIMEOUT,
        T0 + timedelta(hours=2),
        None,
    )
    active = session(SessionKey("whatsapp", "123", "3"), sid="active")
    await store.commit(
        [old, recent, active], [inbound("w-old", sid="old"), outbound("bye", sid="old")]
    )
    counts = await store.purge_closed(T0 + timedelta(hours=1))
    assert (counts.sessions, counts.messages) == (1, 2)
    assert await store.get("old") is None
    assert await store.messages("old") == []
    assert await store.get("recent") is not None
    assert await store.get("active") is not None


# --- the outbox (issue #9) ------------------------------------------------------------------


async def test_outbox_fields_read_back_and_a_retry_stays_pending(store: SessionStore) -> None:
    notice = outbound("bye")
    notice.priority, notice.notice = Priority.BULK, "close.timeout"
    [stored] = await store.commit([session()], [notice])
    assert stored.id is not None
    later = T0 + timedelta(seconds=30)
    await store.mark_outbound(
        stored.id,
        Delivery.PENDING,
        error_code=130429,
        error_detail="throttled",
        attempts=1,
        next_attempt_at=later,
    )
    [pending] = await store.pending_outbound(10)
    assert (pending.priority, pending.notice, pending.attempts, pending.next_attempt_at) == (
        Priority.BULK,
        "close.timeout",
        1,
        later,
    )
    assert pending.error_code == 130429
    assert await store.pending_outbound(10, due_by=T0) == []  # not due yet
    assert [m.id for m in await store.pending_outbound(10, due_by=later)] == [stored.id]
    await store.mark_outbound(stored.id, Delivery.SKIPPED_WINDOW, attempts=1)
    assert await store.pending_outbound(10) == []
    assert await store.pending_for(KEY, 10) == []
    [history] = await store.messages("s1")
    assert (history.status, history.attempts) == (Delivery.SKIPPED_WINDOW, 1)


async def test_only_each_users_oldest_pending_message_is_due(store: SessionStore) -> None:
    other = SessionKey("whatsapp", "123", "5491155550002")
    first, second = outbound("first"), outbound("second")
    theirs = outbound("theirs", sid="s2")
    theirs.key = other
    stored = await store.commit([session(), session(other, sid="s2")], [first, second, theirs])
    a, b, c = (m.id for m in stored)
    assert a is not None and b is not None and c is not None
    # Ids are in order within a user (on a cluster each partition counts its own, so across
    # users they are not): compared as sets across users.
    assert {m.id for m in await store.pending_outbound(10, due_by=T0)} == {a, c}
    assert [m.text for m in await store.pending_for(KEY, 10)] == ["first", "second"]
    # The first waits for a retry: the second may not overtake it.
    await store.mark_outbound(
        a, Delivery.PENDING, attempts=1, next_attempt_at=T0 + timedelta(minutes=1)
    )
    assert [m.id for m in await store.pending_outbound(10, due_by=T0)] == [c]
    assert await store.pending_users(10, due_by=T0) == [(other, Priority.REPLY)]
    await store.mark_outbound(a, Delivery.SENT, provider_id="wamid.a", attempts=2)
    assert {m.id for m in await store.pending_outbound(10, due_by=T0)} == {b, c}
    assert [m.text for m in await store.pending_for(KEY, 10)] == ["second"]
    assert sorted(await store.pending_users(10, due_by=T0), key=str) == [
        (KEY, Priority.REPLY),
        (other, Priority.REPLY),
    ]


async def test_last_inbound_is_when_the_user_last_wrote(store: SessionStore) -> None:
    assert await store.last_inbound_at(KEY) is None
    later = inbound("wamid.2")
    later.created_at = T0 + timedelta(hours=3)
    system = inbound("wamid.3")
    system.kind, system.created_at = "system", T0 + timedelta(hours=5)
    await store.commit([session()], [inbound("wamid.1"), later, system, outbound("hi")])
    assert await store.last_inbound_at(KEY) == T0 + timedelta(hours=3)
    assert await store.last_inbound_at(SessionKey("whatsapp", "123", "other")) is None


async def test_deleting_a_user_empties_their_outbox(store: SessionStore) -> None:
    await store.commit([session()], [inbound("wamid.1"), outbound("a")])
    await store.delete_user(KEY.bot_id, KEY.user_id)
    assert await store.pending_outbound(10) == []
    assert await store.pending_for(KEY, 10) == []
    assert await store.last_inbound_at(KEY) is None


async def test_send_slots_are_spaced_and_can_be_held(store: SessionStore) -> None:
    slots = store.send_slots()
    waits = [await slots.reserve("whatsapp:123", 0.5) for _ in range(3)]
    assert waits[0] < 0.1  # free now (nothing was saved up before)
    assert 0.35 < waits[1] < 0.55 and 0.85 < waits[2] < 1.05
    assert await slots.reserve("whatsapp:other", 0.5) < 0.1  # each number has its own
    assert 0.35 < await slots.reserve("whatsapp:other", 0.5, count=2) < 0.55
    assert 1.35 < await slots.reserve("whatsapp:other", 0.5) < 1.55
    await slots.hold("whatsapp:other", 5.0)
    assert 4.5 < await slots.reserve("whatsapp:other", 0.5) <= 5.0


# --- what a lock's holder reads (issue #7: Redis reads it with the lock) ---------------------


async def test_under_a_users_lock_reads_follow_the_holders_own_commits(
    store: SessionStore,
) -> None:
    assert await store.enqueue_inbound(text_in("w1", text="uno"))
    assert await store.enqueue_inbound(text_in("w2", text="dos"))
    async with store.user_locks().lock(KEY):
        assert await store.get_active(KEY) is None
        first = await store.next_inbound(KEY)
        assert first is not None and first.text == "uno"
        opened = session()
        await store.commit([opened], [inbound("w1")], consumed=first)
        assert await store.get_active(KEY) == opened
        second = await store.next_inbound(KEY)
        assert second is not None and second.text == "dos"
        closed = session()
        closed.status, closed.close_reason, closed.closed_at = Status.COMPLETED, "goodbye", T0
        await store.commit([closed], [inbound("w2")], consumed=second)
        assert await store.get_active(KEY) is None
        assert await store.next_inbound(KEY) is None
    assert await store.get("s1") == closed
    assert await store.next_inbound(KEY) is None
    assert [s.id for s in await store.list_sessions(SessionQuery(user_id=KEY.user_id))] == ["s1"]


async def test_a_session_changed_but_not_committed_is_read_as_stored(
    store: SessionStore,
) -> None:
    await store.commit([session()], [])
    async with store.user_locks().lock(KEY):
        changed = await store.get_active(KEY)
        assert changed is not None
        changed.data["name"] = "Otro"
        store.forget_cached(KEY)  # the engine's turn failed half-way
        assert await store.get_active(KEY) == session()


async def test_under_the_sender_lock_pending_messages_follow_the_results_stored(
    store: SessionStore,
) -> None:
    later = inbound("wamid.1")
    later.created_at = T0 + timedelta(minutes=5)
    stored = await store.commit([session()], [later, outbound("a"), outbound("b")])
    a, b = (m.id for m in stored[1:])
    assert a is not None and b is not None
    async with store.outbox_locks().lock(KEY):
        assert await store.last_inbound_at(KEY) == T0 + timedelta(minutes=5)
        assert [m.id for m in await store.pending_for(KEY, 50)] == [a, b]
        await store.mark_outbound(a, Delivery.SENT, provider_id="wamid.a", attempts=1)
        assert [m.id for m in await store.pending_for(KEY, 50)] == [b]
        await store.mark_outbound(b, Delivery.FAILED, error_code=131026, attempts=1)
        assert await store.pending_for(KEY, 50) == []
    async with store.outbox_locks().lock(KEY):
        assert await store.pending_for(KEY, 50) == []
    statuses = [(m.text, m.status, m.provider_id) for m in await store.messages("s1")]
    assert statuses[1:] == [("a", Delivery.SENT, "wamid.a"), ("b", Delivery.FAILED, None)]


async def test_pending_for_reads_past_what_the_sender_lock_read(store: SessionStore) -> None:
    texts = [f"#{n}" for n in range(60)]
    await store.commit([session()], [outbound(t) for t in texts])
    async with store.outbox_locks().lock(KEY):
        assert [m.text for m in await store.pending_for(KEY, 55)] == texts[:55]
    async with store.outbox_locks().lock(KEY):
        assert [m.text for m in await store.pending_for(KEY, 3)] == texts[:3]


# --- issue #14: the pending confirmation and the opt-out record ---------------------------------


async def test_a_pending_confirmation_is_stored_with_the_session(store: SessionStore) -> None:
    asking = session()
    asking.confirming = "goodbye"
    await store.commit([asking], [])
    read = await store.get_active(KEY)
    assert read is not None and read.confirming == "goodbye"
    store.forget_cached(KEY)
    assert (await store.get("s1")) == asking
    asking.confirming = None
    await store.commit([asking], [])
    assert (await store.get("s1")) == asking


async def test_an_opt_out_is_kept_across_sessions_until_the_user_opts_back_in(
    store: SessionStore,
) -> None:
    other = SessionKey("whatsapp", "123", "5491155550002")
    await store.commit([session(), session(other, sid="s2")], [])
    assert await store.opted_out_at(KEY) is None
    await store.set_opt_out(KEY, T0)
    assert await store.opted_out_at(KEY) == T0
    assert await store.opt_outs([KEY, other]) == {KEY: T0}
    assert [s.id for s in await store.list_sessions(SessionQuery(opted_out=True))] == ["s1"]
    assert [s.id for s in await store.list_sessions(SessionQuery(opted_out=False))] == ["s2"]
    assert await store.count_sessions(SessionQuery(opted_out=True)) == 1
    await store.commit([session(sid="s1")], [])  # a session written later keeps it
    assert await store.opted_out_at(KEY) == T0
    await store.set_opt_out(KEY, None)
    assert await store.opted_out_at(KEY) is None
    assert await store.list_sessions(SessionQuery(opted_out=True)) == []


async def test_the_redis_session_hash_shows_opted_out(redis_server: RedisServer) -> None:
    """The documented ``session:{botId}:{userId}`` hash carries ``optedOut`` (frontends)."""
    redis_server.flush()
    store = RedisStore(redis_server.url)
    await store.open()
    try:
        await store.commit([session()], [])
        await store.set_opt_out(KEY, T0)
        fields = await store.redis.hgetall("session:123:5491155550001")
        assert fields["optedOut"] == T0.isoformat(timespec="microseconds")
        assert fields["status"] == "active"
        await store.commit([session()], [])  # rewritten by a later commit: still there
        assert await store.redis.hget("session:123:5491155550001", "optedOut") == fields["optedOut"]
        await store.set_opt_out(KEY, None)
        assert await store.redis.hget("session:123:5491155550001", "optedOut") == ""
        assert not await store.redis.exists("optout:123:5491155550001")
    finally:
        await store.close()
