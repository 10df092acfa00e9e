"""What the Redis store's steps cost Redis, counted as Redis counts them (``INFO
commandstats``: a script call and each command it runs inside): the lean footprint per
message of issue #16."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sessions.model import Delivery
from bot.sessions.redis import RedisStore
from tests.redis_server import RedisServer
from tests.sessions.test_store import KEY, outbound, session


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
