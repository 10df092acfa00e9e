"""An attempt is stored (``sending``) before its request leaves; one a dead process left
``sending`` is recorded ``unknown`` and never sent again (at most once)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.channels.whatsapp import WhatsAppClient
from bot.config import DeliverySettings
from bot.delivery.outbox import Outbox
from bot.sessions.model import INTERRUPTED_DETAIL, Delivery
from bot.sessions.redis import RedisStore
from tests.delivery.conftest import TOKEN, Rig, key
from tests.delivery.test_outbox_redis import queue
from tests.redis_server import RedisServer

ANA, BEN = "5491155550001", "5491155550002"


async def test_the_attempt_is_stored_before_the_request_leaves(rig: Rig) -> None:
    outbox = rig.outbox()
    rig.graph.delay_next(5.0)
    [message] = await rig.queue(ANA, "hola")
    sending = asyncio.create_task(outbox.submit([message]))
    await rig.graph.wait_for(lambda requests: len(requests) == 1)
    [stored] = await rig.history(ANA)  # the fake holds its answer: the attempt is in flight
    assert (stored.status, stored.attempts) == (Delivery.SENDING, 1)
    await rig.graph.close()  # releases the held answer
    await sending
    [stored] = await rig.history(ANA)
    assert stored.status is Delivery.SENT


async def test_a_send_left_sending_by_a_dead_process_is_recorded_unknown_at_start(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    [left, after] = await rig.queue(ANA, "a1", "a2")
    await rig.store.mark_outbound(_id(left), Delivery.SENDING, attempts=1)  # then SIGKILL
    [other] = await rig.queue(BEN, "b1")
    outbox = rig.outbox()
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        await outbox.start()
        await rig.graph.wait_for(lambda requests: len(requests) == 2)
        await outbox.stop()
    assert rig.graph.texts_to(ANA) == ["a2"] and rig.graph.texts_to(BEN) == ["b1"]
    stored = {m.text: m for m in await rig.history(ANA)}
    assert stored["a1"].status is Delivery.UNKNOWN
    assert stored["a1"].error_detail == INTERRUPTED_DETAIL
    assert stored["a2"].status is Delivery.SENT
    assert any("recorded unknown, not sent again" in r.getMessage() for r in caplog.records)
    assert rig.counter("bot_outbound_skipped_total", channel="whatsapp", reason="interrupted") == 1
    del after, other


async def test_on_redis_the_next_lock_holder_records_a_dead_workers_send_unknown(
    redis_server: RedisServer, rig: Rig
) -> None:
    redis_server.flush()
    store = RedisStore(redis_server.url)
    await store.open()
    try:
        await queue(store, ANA, ["a1", "a2"])
        [left, _] = await store.pending_for(key(ANA), 10)
        await store.mark_outbound(_id(left), Delivery.SENDING, attempts=1)  # then SIGKILL
        outbox = Outbox(
            store,
            {"whatsapp": WhatsAppClient(rig.http, rig.graph.url, TOKEN)},
            settings=DeliverySettings(max_mps=0.0),
        )
        assert await outbox.run_once() == 2
        assert rig.graph.texts_to(ANA) == ["a2"]
        session = await store.messages(f"s-{ANA}")
        assert [m.status for m in session] == [Delivery.UNKNOWN, Delivery.SENT]
    finally:
        await store.close()


def _id(message: object) -> int:
    value = getattr(message, "id", None)
    assert isinstance(value, int)
    return value
