"""Redis-only behaviour of the store: two workers on one Redis, leases, shared round trips."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.exceptions

from bot.sessions.model import Delivery, Status
from bot.sessions.redis import RedisStore
from bot.sessions.redis.batch import CommandBatcher
from bot.sessions.redis.conversation import RESERVED_IDS
from bot.sessions.redis.locks import RedisUserLocks
from tests.redis_server import RedisServer
from tests.sessions.test_store import KEY, T0, inbound, outbound, session, text_in


@pytest.fixture
async def workers(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    redis_server.flush()
    a, b = RedisStore(redis_server.url), RedisStore(redis_server.url)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def test_a_result_stored_over_another_workers_change_keeps_that_change(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, b = workers
    [stored] = await a.commit([session()], [outbound("hola")])
    assert stored.id is not None
    [read] = await a.pending_for(KEY, 10)  # worker a reads it ...
    await b.mark_outbound(stored.id, Delivery.PENDING, error_code=131056, attempts=3)
    await a.mark_outbound(stored.id, Delivery.SENT, provider_id="wamid.x")  # ... and stores
    [history] = await b.messages("s1")
    assert (history.status, history.provider_id, history.attempts) == (
        Delivery.SENT,
        "wamid.x",
        3,  # b's change was applied to, not overwritten by a's stale copy
    )
    assert read.attempts == 0
    assert await b.pending_outbound(10) == []
    assert await a.update_delivery("wamid.x", Delivery.DELIVERED)


async def test_the_next_holder_in_another_worker_reads_what_the_last_one_committed(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, b = workers
    await a.enqueue_inbound(text_in("w1", text="uno"))
    await b.enqueue_inbound(text_in("w2", text="dos"))
    async with a.user_locks().lock(KEY):
        first = await a.next_inbound(KEY)
        assert first is not None and first.text == "uno"
        await a.commit([session()], [inbound("w1")], consumed=first)
    async with b.user_locks().lock(KEY):
        assert await b.get_active(KEY) == session()
        second = await b.next_inbound(KEY)
        assert second is not None and second.text == "dos"
        changed = session()
        changed.step_id = "ask_name"
        await b.commit([changed], [inbound("w2")], consumed=second)
    async with a.user_locks().lock(KEY):
        assert await a.get_active(KEY) == changed
        assert await a.next_inbound(KEY) is None


async def test_a_message_queued_while_the_holder_works_is_read_by_the_next_holder(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, b = workers
    async with a.user_locks().lock(KEY):
        assert await a.next_inbound(KEY) is None
        await b.enqueue_inbound(text_in("w1"))  # the webhook of another worker
    async with a.user_locks().lock(KEY):
        assert await a.next_inbound(KEY) == text_in("w1")


async def test_scripts_are_loaded_again_after_redis_forgot_them(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, _ = workers
    await a.commit([session()], [outbound("uno")])
    await a.redis.script_flush()  # as after a restart of Redis
    async with a.outbox_locks().lock(KEY):
        [pending] = await a.pending_for(KEY, 10)
        assert pending.id is not None
        await a.mark_outbound(pending.id, Delivery.SENT, provider_id="wamid.1")
    assert [m.status for m in await a.messages("s1")] == [Delivery.SENT]


async def test_a_lock_held_longer_than_its_lease_stays_held(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    """No waiting: the time a lease has left is set in Redis (``PEXPIRE``) and read
    (``PTTL``); the renewing task calls :meth:`RedisUserLocks.renew` every third of a lease."""
    a, b = workers
    holder = RedisUserLocks(a.redis, lambda key: f"lock:test:{key}", lease_s=10)
    other = RedisUserLocks(b.redis, lambda key: f"lock:test:{key}", lease_s=10)
    async with holder.lock("u1"), holder.hold_free(["u2"]) as held:
        assert held == ["u2"]
        for name in ("lock:test:u1", "lock:test:u2"):
            assert 9_000 < await a.redis.pttl(name) <= 10_000
            await a.redis.pexpire(name, 500)  # 9.5 s of the lease have passed
        assert await holder.renew() == 0
        for name in ("lock:test:u1", "lock:test:u2"):
            assert 9_000 < await a.redis.pttl(name) <= 10_000  # a whole lease again
        async with other.hold_free(["u1", "u2"]) as taken:
            assert taken == []
    async with asyncio.timeout(1), other.hold_free(["u1", "u2"]) as taken:
        assert taken == ["u1", "u2"]


async def test_a_lock_whose_lease_ran_out_is_not_renewed_over_its_new_holder(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, b = workers
    holder = RedisUserLocks(a.redis, lambda key: f"lock:test:{key}", lease_s=10)
    async with holder.hold_free(["u1"]) as held:
        assert held == ["u1"]
        await b.redis.set("lock:test:u1", "another worker's token")  # the lease ran out
        assert await holder.renew() == 1
        assert await holder.renew() == 0  # no longer counted as held
        assert await b.redis.get("lock:test:u1") == "another worker's token"
    assert await b.redis.get("lock:test:u1") == "another worker's token"  # not released


async def test_calls_from_many_tasks_share_round_trips_and_get_their_own_replies(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, _ = workers
    batcher = CommandBatcher(a.redis)
    echo = batcher.script("return ARGV[1]")
    broken = batcher.script("return redis.call('incr', KEYS[1])")
    await a.redis.set("not-a-number", "x")
    replies = await asyncio.gather(
        *(echo(args=[str(n)]) for n in range(50)),
        broken(keys=["not-a-number"]),
        return_exceptions=True,
    )
    assert replies[:50] == [str(n) for n in range(50)]
    assert isinstance(replies[50], redis.exceptions.ResponseError)
    await batcher.aclose()


async def test_a_sweep_reads_due_sessions_in_one_script(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, _ = workers
    due = session()
    await a.commit([due], [])
    assert await a.due_sessions(T0, 10) == []
    [found] = await a.due_sessions(T0.replace(hour=13), 10)
    assert found == due and found.status is Status.ACTIVE


async def test_text_that_is_not_valid_unicode_is_stored_too(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    a, _ = workers
    odd = outbound("roto \ud83d y 🚀")  # a lone surrogate, as a JSON escape can decode to
    [stored] = await a.commit([session()], [odd])
    [back] = await a.messages("s1")
    assert (back.id, back.text) == (stored.id, "roto \ud83d y 🚀")


async def test_a_sessions_status_key_expires_by_the_stores_clock(
    redis_server: RedisServer,
) -> None:
    """The TTL is read (``PTTL``), not waited for."""
    redis_server.flush()
    now = [T0 + timedelta(minutes=10)]
    store = RedisStore(redis_server.url, retention_s=3600, clock=lambda: now[0])
    await store.open()
    try:
        await store.commit([session()], [])  # expires at T0 + 30 min: 20 min from now
        ttl_ms = await store.redis.pttl("session:status:123:5491155550001")
        assert 20 * 60_000 < ttl_ms <= 21 * 60_000  # plus a minute's grace
        closed = session()
        closed.status, closed.closed_at = Status.TIMEOUT, now[0]
        await store.commit([closed], [])
        ttl_ms = await store.redis.pttl("session:status:123:5491155550001")
        assert 3500_000 < ttl_ms <= 3600_000  # the retention period
        await store.check_writable()
        assert await store.redis.get("store:probe") == now[0].isoformat(timespec="microseconds")
    finally:
        await store.close()


async def _incrby_calls(store: RedisStore) -> int:
    stats = await store.redis.info("commandstats")
    return int(stats.get("cmdstat_incrby", {}).get("calls", 0))


async def test_ids_taken_with_the_lock_number_the_holders_commits_in_order(
    workers: tuple[RedisStore, RedisStore],
) -> None:
    """A turn's commit numbers its messages from ids taken with the user's lock (no
    ``INCRBY`` of its own); a commit needing more takes them from the counter and gives the
    rest up, so that a user's ids keep growing."""
    a, b = workers
    before = await _incrby_calls(a)
    async with a.user_locks().lock(KEY):
        [first, second] = await a.commit([session()], [inbound("w1"), outbound("uno")])
        assert await _incrby_calls(a) == before + 1  # the one taken with the lock ...
        assert await a.redis.get("messages:seq") == str(RESERVED_IDS)  # ... for 8 ids
        assert (first.id, second.id) == (1, 2)
        many = await a.commit([session()], [outbound(f"{n}") for n in range(9)])
        [last] = await a.commit([session()], [outbound("tres")])
        assert await _incrby_calls(a) == before + 3  # more than reserved: from the counter
    async with b.user_locks().lock(KEY):
        [later] = await b.commit([session()], [outbound("cuatro")])
    ids = [m.id for m in (first, second, *many, last, later)]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # type: ignore[type-var]
    async with a.outbox_locks().lock(KEY):
        texts = [m.text for m in await a.pending_for(KEY, 20)]
    assert texts == ["uno", *(f"{n}" for n in range(9)), "tres", "cuatro"]
