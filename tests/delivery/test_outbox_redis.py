"""Two senders (as in two workers) on one real Redis: each message once, each user's in order,
and one shared pace per business number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.channels.whatsapp import WhatsAppClient
from bot.clock import utc_now
from bot.config import DeliverySettings
from bot.delivery.outbox import Outbox
from bot.sessions.model import Delivery, Direction, MessageRecord, Session, Status
from bot.sessions.redis import RedisStore
from tests.delivery.conftest import TOKEN, key
from tests.fakes.graph_api import FakeGraphAPI
from tests.redis_server import RedisServer


@pytest.fixture
async def stores(redis_server: RedisServer) -> AsyncIterator[list[RedisStore]]:
    redis_server.flush()
    both = [RedisStore(redis_server.url), RedisStore(redis_server.url)]
    for store in both:
        await store.open()
    yield both
    for store in both:
        await store.close()


async def queue(store: RedisStore, user: str, texts: list[str]) -> None:
    now = utc_now()
    session = Session(f"s-{user}", key(user), Status.ACTIVE, now, now, now + timedelta(hours=1))
    records = [
        MessageRecord(session.id, key(user), Direction.OUT, "text", t, now, status=Delivery.PENDING)
        for t in texts
    ]
    await store.commit([session], records)


async def test_two_senders_send_each_message_once_in_order_at_one_shared_pace(
    stores: list[RedisStore],
) -> None:
    users = [f"54911000{n:05d}" for n in range(20)]
    texts = [f"#{n}" for n in range(4)]
    for user in users:
        await queue(stores[0], user, texts)
    settings = DeliverySettings(max_mps=100.0, retry_base_s=0.05, retry_max_s=0.2)
    async with FakeGraphAPI(access_token=TOKEN) as graph, aiohttp.ClientSession() as http:
        graph.fail_next(status=503, code=2, message="Service temporarily unavailable", count=5)
        outboxes = [
            Outbox(store, {"whatsapp": WhatsAppClient(http, graph.url, TOKEN)}, settings=settings)
            for store in stores
        ]
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(o.start() for o in outboxes))
        try:
            await graph.wait_for(
                lambda _: sum(len(graph.texts_to(u)) for u in users) == 80, timeout_s=15
            )
            elapsed = asyncio.get_running_loop().time() - started
            await asyncio.gather(*(o.join() for o in outboxes))
        finally:
            await asyncio.gather(*(o.stop() for o in outboxes))
    assert all(graph.texts_to(u) == texts for u in users)
    assert len(graph.requests) == 85  # 80 accepted once each, 5 refused and retried
    assert elapsed >= 79 / 100  # one pace for both senders, not 100 messages/s each
    assert await stores[1].pending_outbound(100) == []
