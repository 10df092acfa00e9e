"""The Redis store on a real Redis Cluster (3 masters): one user's keys in one slot, the
frontends' keys under their documented names, the partitions walked and merged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from redis.crc import key_slot

from bot.config import load_settings
from bot.errors import ConfigError
from bot.sessions.factory import check_redis, redacted, store_from_settings
from bot.sessions.model import Delivery, SessionKey, Status
from bot.sessions.redis import RedisStore
from bot.sessions.redis.codec import session_hash
from bot.sessions.redis.tags import PARTITIONS, Tags, partition_tags
from bot.sessions.store import SessionQuery
from tests.redis_cluster import RedisCluster
from tests.sessions.test_store import KEY, T0, inbound, outbound, session, text_in

REPO = Path(__file__).resolve().parents[2]
FRONTEND = {"session:123:5491155550001", "session:status:123:5491155550001"}
"""The frontends' keys of KEY, in their own slots."""
GLOBAL = ("wamid:",)
"""Keys found by an id alone (a delivery status names only the provider's id)."""


@pytest.fixture
async def store(redis_cluster: RedisCluster) -> AsyncIterator[RedisStore]:
    redis_cluster.flush()
    backend = RedisStore(redis_cluster.url, retention_s=3600, clock=lambda: T0)
    await backend.open()
    yield backend
    await backend.close()


def test_the_partitions_tags_spread_evenly_over_the_slots() -> None:
    tags = partition_tags(PARTITIONS)
    assert len(set(tags)) == PARTITIONS
    width = 16384 // PARTITIONS
    assert [key_slot(t.encode()) // width for t in tags] == list(range(PARTITIONS))
    assert all(len(t) <= 5 for t in tags)  # "{xy}": a few bytes per key


async def test_a_turn_writes_one_slot_and_then_the_frontends_keys(store: RedisStore) -> None:
    await store.enqueue_inbound(text_in("w1"))
    async with store.user_locks().lock(KEY):
        message = await store.next_inbound(KEY)
        assert message is not None
        [stored_in, stored_out] = await store.commit(
            [session()], [inbound("w1"), outbound("hola")], consumed=message
        )
    assert stored_out.id is not None
    async with store.outbox_locks().lock(KEY):
        [pending] = await store.pending_for(KEY, 10)
        await store.mark_outbound(pending.id or 0, Delivery.SENT, provider_id="wamid.1")
    names = [name async for name in store.redis.scan_iter()]
    own = [n for n in names if n not in FRONTEND and not n.startswith(GLOBAL)]
    tag = Tags(PARTITIONS).of(KEY)
    assert own and all(n.startswith(tag) for n in own)
    assert len({key_slot(n.encode()) for n in own}) == 1  # one slot: one atomic script
    assert set(names) >= FRONTEND
    assert "wamid:wamid.1" in names
    # The frontends read the documented keys, with the documented fields:
    fields = await store.redis.hgetall("session:123:5491155550001")
    assert fields == session_hash(session())
    assert await store.redis.get("session:status:123:5491155550001") == "active"
    ttl_ms = await store.redis.pttl("session:status:123:5491155550001")
    assert 30 * 60_000 < ttl_ms <= 31 * 60_000  # its deadline plus a minute
    assert await store.update_delivery("wamid.1", Delivery.DELIVERED)
    [_, back] = await store.messages("s1")
    assert (back.id, back.status) == (stored_out.id, Delivery.DELIVERED)
    assert stored_in.id is not None and stored_in.id % PARTITIONS == Tags(PARTITIONS).partition(
        KEY.user_id
    )  # the id names its partition


async def test_an_opt_out_reaches_the_frontends_hash(store: RedisStore) -> None:
    await store.commit([session()], [])
    await store.set_opt_out(KEY, T0)
    assert await store.redis.hget("session:123:5491155550001", "optedOut") == T0.isoformat(
        timespec="microseconds"
    )
    assert await store.opted_out_at(KEY) == T0


async def test_the_sweeper_and_the_admin_queries_merge_every_partition(store: RedisStore) -> None:
    users = [SessionKey("whatsapp", "123", f"54911555{n:05d}") for n in range(40)]
    tags = Tags(PARTITIONS)
    assert len({tags.of(k) for k in users}) > 20  # spread over many partitions
    sessions = []
    for n, key in enumerate(users):
        s = replace(
            session(key, sid=f"s{n:02d}", expires_in_min=10 + n),
            created_at=T0 + timedelta(seconds=n),
        )
        sessions.append(s)
    await store.commit(sessions, [])  # the sweeper's commit: many users at once
    due = await store.due_sessions(T0 + timedelta(minutes=25), 10)
    assert [s.id for s in due] == [f"s{n:02d}" for n in range(10)]  # oldest deadline first
    newest = await store.list_sessions(SessionQuery(limit=5, offset=2))
    assert [s.id for s in newest] == ["s37", "s36", "s35", "s34", "s33"]
    assert await store.count_sessions(SessionQuery()) == 40
    assert (await store.get("s17")) == sessions[17]
    closed = replace(sessions[3], status=Status.TIMEOUT, closed_at=T0, expires_at=None)
    await store.commit([closed], [])
    assert await store.redis.get("session:status:123:5491155500003") == "timeout"


async def test_a_frontend_key_that_cannot_be_written_is_logged_and_the_commit_stands(
    store: RedisStore, caplog: pytest.LogCaptureFixture
) -> None:
    await store.redis.set("session:123:5491155550001", "not a hash")  # HSET fails: WRONGTYPE
    with caplog.at_level(logging.WARNING):
        [stored] = await store.commit([session()], [outbound("hola")])
    assert "frontend session keys not written after a commit" in caplog.text
    assert [m.id for m in await store.messages("s1")] == [stored.id]
    assert await store.get_active(KEY) == session()
    assert await store.redis.get("session:status:123:5491155550001") == "active"


def test_the_url_names_the_cluster_nodes_and_a_bad_node_names_the_setting() -> None:
    url = "redis+cluster://10.0.0.1:7000,10.0.0.2:7001"
    settings = load_settings(REPO / "config.yaml", {"DATABASE_URL": url})
    built = store_from_settings(settings)
    assert isinstance(built, RedisStore) and built.tags.cluster
    single = store_from_settings(
        load_settings(REPO / "config.yaml", {"DATABASE_URL": "redis://h:1/0"})
    )
    assert isinstance(single, RedisStore) and not single.tags.cluster
    for bad in ("redis+cluster://10.0.0.1", "redis+cluster://a:1,b:x", "redis+cluster://"):
        with pytest.raises(ConfigError) as caught:
            load_settings(REPO / "config.yaml", {"DATABASE_URL": bad})
        assert caught.value.setting == "DATABASE_URL"
    assert redacted("redis+cluster://u:pw@a:1,b:2") == "redis+cluster://u:***@a:1,b:2"


async def test_an_unreachable_cluster_is_one_error_naming_the_setting() -> None:
    from tests.redis_cluster import _free_port

    port = _free_port(set())  # nothing listens there
    url = f"redis+cluster://127.0.0.1:{port}"
    settings = load_settings(REPO / "config.yaml", {"DATABASE_URL": url})
    with pytest.raises(ConfigError) as caught:
        await check_redis(settings)
    assert caught.value.setting == "DATABASE_URL"
    assert f"cannot reach Redis at {url}" in str(caught.value)


async def test_the_outbox_scan_pages_through_a_busy_partition(store: RedisStore) -> None:
    """A first small look at each of the 256 partitions, then whole pages where there is
    more: 20 users of one partition, each with a due reply, are all found."""
    tags = Tags(PARTITIONS)
    crowd = [f"5491{n:07d}" for n in range(20_000)]
    same = [u for u in crowd if tags.partition(u) == tags.partition(crowd[0])][:20]
    assert len(same) == 20
    for n, user in enumerate(same):
        key = SessionKey("whatsapp", "123", user)
        reply = replace(outbound(f"r{n}", sid=f"s{n}"), key=key)
        await store.commit([session(key, sid=f"s{n}")], [reply])
    due = await store.pending_outbound(500, due_by=T0)
    assert sorted(m.text or "" for m in due) == sorted(f"r{n}" for n in range(20))


async def test_a_crash_between_a_sends_mark_and_its_wamid_key_neither_resends_nor_loses_it(
    store: RedisStore,
) -> None:
    """On a cluster ``wamid:{id}`` is in its own slot, written right after the mark script.
    A worker killed in between leaves a message marked ``sent`` without it: its first
    status (naming our id) finds the message settled and creates the key, so the later
    statuses apply; a key is never there before its message is marked (its status would
    look applied, and the send be made again after the interrupted grace)."""
    [stored] = await store.commit([session()], [outbound("hola")])
    assert stored.id is not None
    await store.mark_outbound(stored.id, Delivery.SENDING, attempts=1)
    assert not await store.redis.exists("wamid:wamid.k")
    await store.mark_outbound(stored.id, Delivery.SENT, provider_id="wamid.k")
    assert await store.redis.exists("wamid:wamid.k")
    await store.redis.delete("wamid:wamid.k")  # as if killed before writing it
    assert not await store.update_delivery("wamid.k", Delivery.SENT)
    assert await store.settle_by_status(stored.id, "123", "wamid.k") is None  # settled: not resent
    assert await store.update_delivery("wamid.k", Delivery.DELIVERED)
    [back] = await store.messages("s1")
    assert (back.status, back.provider_id) == (Delivery.DELIVERED, "wamid.k")
    assert await store.pending_outbound(10) == []
