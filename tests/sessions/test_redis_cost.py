"""What the Redis store's steps cost Redis, counted as Redis counts them (``INFO
commandstats``: a script call and each command it runs inside): the lean footprint per
message of issue #16."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sessions.model import Delivery
from bot.sessions.redis import RedisStore
from tests.redis_server import RedisServer
from tests.sessions.test_store import KEY, inbound, outbound, session, text_in


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    redis_server.flush()
    opened = RedisStore(redis_server.url)
    await opened.open()
    yield opened
    await opened.close()


async def commands(store: RedisStore) -> dict[str, int]:
    """Calls by command so far (``INFO`` itself left out)."""
    stats = await store.redis.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(row["calls"])
        for name, row in stats.items()
        if name != "cmdstat_info"
    }


class Counted:
    """The commands Redis ran between entering and leaving the block, by name."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.by_name: dict[str, int] = {}

    async def __aenter__(self) -> Counted:
        self._before = await commands(self.store)
        return self

    async def __aexit__(self, *exc: object) -> None:
        after = await commands(self.store)
        self.by_name = {
            name: n - self._before.get(name, 0)
            for name, n in after.items()
            if n > self._before.get(name, 0)
        }

    @property
    def total(self) -> int:
        return sum(self.by_name.values())


async def _sent(store: RedisStore, wamid: str) -> int:
    [stored] = await store.commit([session()], [outbound("hola")])
    assert stored.id is not None
    await store.mark_outbound(stored.id, Delivery.SENT, provider_id=wamid)
    return stored.id


async def test_a_status_costs_one_command_and_never_moves_back(store: RedisStore) -> None:
    await _sent(store, "wamid.a")
    for status in (Delivery.SENT, Delivery.DELIVERED, Delivery.READ):
        async with Counted(store) as cost:
            assert await store.update_delivery("wamid.a", status)
        assert cost.by_name == {"zadd": 1}  # Meta's three statuses: one command each
    async with Counted(store) as cost:
        assert await store.update_delivery("wamid.a", Delivery.DELIVERED)  # late
    assert cost.by_name == {"zadd": 1, "exists": 1}
    [back] = await store.messages("s1")
    assert (back.status, back.provider_id) == (Delivery.READ, "wamid.a")
    async with Counted(store) as cost:
        assert not await store.update_delivery("wamid.unknown", Delivery.READ)
    assert cost.total == 2


async def test_a_failed_status_applies_over_read_with_its_error(store: RedisStore) -> None:
    await _sent(store, "wamid.f")
    assert await store.update_delivery("wamid.f", Delivery.READ)
    assert await store.update_delivery("wamid.f", Delivery.FAILED, 131026, "undeliverable")
    assert await store.update_delivery("wamid.f", Delivery.DELIVERED)  # after failed: ignored
    [back] = await store.messages("s1")
    assert (back.status, back.error_code, back.error_detail) == (
        Delivery.FAILED,
        131026,
        "undeliverable",
    )
    assert not await store.update_delivery("wamid.none", Delivery.FAILED, 1, "x")


async def test_a_status_for_a_message_sent_before_this_layout_is_applied(
    store: RedisStore,
) -> None:
    """A ``wamid:`` key of the earlier layout (a string: the message id) still works."""
    [stored] = await store.commit([session()], [outbound("hola")])
    assert stored.id is not None
    await store.mark_outbound(stored.id, Delivery.SENT)
    message = await store.redis.get(f"message:{stored.id}")
    await store.redis.set(
        f"message:{stored.id}", message.replace('"provider_id":null', '"provider_id":"wamid.old"')
    )
    await store.redis.set("wamid:wamid.old", str(stored.id))
    assert await store.update_delivery("wamid.old", Delivery.READ)
    [back] = await store.messages("s1")
    assert (back.status, back.provider_id) == (Delivery.READ, "wamid.old")
    assert KEY.user_id == back.key.user_id


async def test_a_send_marks_its_message_without_reading_it_first(store: RedisStore) -> None:
    """``sending`` then ``sent``: each one script whose compare-and-set is one ``SET ... XX
    GET`` (no ``GET`` first); a message changed since it was read is put back as it was."""
    [stored] = await store.commit([session()], [outbound("hola")])
    assert stored.id is not None
    async with store.outbox_locks().lock(KEY):
        [read] = await store.pending_for(KEY, 10)
        async with Counted(store) as sending:
            await store.mark_outbound(stored.id, Delivery.SENDING, attempts=1)
        async with Counted(store) as sent:
            await store.mark_outbound(stored.id, Delivery.SENT, provider_id="wamid.m")
    assert read.status is Delivery.PENDING
    assert sending.by_name == {"evalsha": 1, "set": 1}
    assert sent.by_name == {"evalsha": 1, "set": 1, "zadd": 1, "expire": 1, "zrem": 2}
    [back] = await store.messages("s1")
    assert (back.status, back.provider_id, back.attempts) == (Delivery.SENT, "wamid.m", 1)
    assert await store.pending_outbound(10) == []


async def test_a_mark_over_a_changed_message_leaves_it_as_it_was_and_reads_it_again(
    store: RedisStore,
) -> None:
    [stored] = await store.commit([session()], [outbound("hola")])
    assert stored.id is not None
    async with store.outbox_locks().lock(KEY):
        await store.pending_for(KEY, 10)  # remembered as read
    changed = (await store.redis.get(f"message:{stored.id}")).replace(
        '"attempts":0', '"attempts":4'
    )
    await store.redis.set(f"message:{stored.id}", changed)  # another worker's change
    async with Counted(store) as cost:
        await store.mark_outbound(stored.id, Delivery.SENT, provider_id="wamid.c")
    assert cost.by_name["evalsha"] == 2  # the first compare failed: applied to what it is now
    [back] = await store.messages("s1")
    assert (back.status, back.attempts) == (Delivery.SENT, 4)


async def test_a_users_second_queued_message_does_not_add_them_to_inbox_users_again(
    store: RedisStore,
) -> None:
    assert await store.enqueue_inbound(text_in("w0", user="5491155550999"))  # script loaded
    async with Counted(store) as first:
        assert await store.enqueue_inbound(text_in("w1", text="uno"))
    async with Counted(store) as second:
        assert await store.enqueue_inbound(text_in("w2", text="dos"))
    assert first.by_name == {"evalsha": 1, "set": 1, "rpush": 1, "sadd": 1}
    assert second.by_name == {"evalsha": 1, "set": 1, "rpush": 1}
    assert KEY in await store.inbox_keys(10)
    async with store.user_locks().lock(KEY):
        head = await store.next_inbound(KEY)
    assert head is not None and head.text == "uno"


async def test_a_turns_commit_counts_its_messages_in_the_sessions_hset(store: RedisStore) -> None:
    """The by-id hash's ``messagesIn`` / ``messagesOut`` are written with its other fields
    (one ``HMGET`` and the ``HSET``), not by an ``HINCRBY`` each."""
    await store.commit([session()], [inbound("w0"), outbound("hola")])  # script loaded
    async with Counted(store) as turn:
        await store.commit([session()], [inbound("w1"), outbound("uno"), outbound("dos")])
    assert "hincrby" not in turn.by_name
    assert (turn.by_name["hmget"], turn.by_name["hset"]) == (1, 2)  # by id; the frontends'
    summary = (await store.message_summaries(["s1"]))["s1"]
    assert (summary.messages_in, summary.messages_out) == (2, 3)
    assert await store.redis.hmget("session:id:s1", "messagesIn", "messagesOut") == ["2", "3"]
