"""An attempt is stored (``sending``) before its request leaves, carrying our message id as
``biz_opaque_callback_data``. One a dead process left ``sending`` waits, after the restart,
``interrupted_grace_s`` for a status webhook naming it: with one it is recorded sent and not
sent again; without one it is sent again when the grace ends (at least once). The user's later
messages wait behind it. The clock is injected: no test sleeps through the grace."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import orjson
import pytest

from bot.channels.whatsapp import WhatsAppClient
from bot.channels.whatsapp.payload import parse_webhook
from bot.clock import utc_now
from bot.config import DeliverySettings
from bot.delivery.outbox import Outbox
from bot.sessions.model import INTERRUPTED_DETAIL, Delivery, MessageRecord
from bot.sessions.redis import RedisStore
from tests.delivery.conftest import BOT_ID, TOKEN, Rig, key
from tests.delivery.test_outbox_redis import queue
from tests.fakes.clock import FakeClock
from tests.fakes.cloud_payloads import envelope, status_update
from tests.redis_server import RedisServer

ANA, BEN = "5491155550001", "5491155550002"
GRACE_S = 20.0


async def until(check: Callable[[], Awaitable[bool]], tries: int = 500) -> None:
    """Poll ``check`` every 10 ms, ``tries`` times at most (a state the started sender task
    reaches by itself, at once; not a timeout)."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached")


async def interrupted(rig: Rig, *texts: str) -> list[MessageRecord]:
    """Store ``texts`` to ANA, the first left ``sending`` as a process killed mid-send leaves
    it; then start an outbox on the store (the restart) and wait until it holds that one
    back. Returns the stored messages (the outbox is stopped again)."""
    stored = await rig.queue(ANA, *texts)
    await rig.store.mark_outbound(_id(stored[0]), Delivery.SENDING, attempts=1)  # then SIGKILL
    outbox = rig.outbox(interrupted_grace_s=GRACE_S)
    await outbox.start()

    async def held() -> bool:
        return (await rig.history(ANA))[0].error_detail == INTERRUPTED_DETAIL

    await until(held)
    await outbox.stop(0)
    return stored


async def test_the_attempt_is_stored_before_the_request_leaves_with_our_id(rig: Rig) -> None:
    outbox = rig.outbox()
    rig.graph.delay_next(5.0)
    [message] = await rig.queue(ANA, "hola")
    sending = asyncio.create_task(outbox.submit([message]))
    await rig.graph.wait_for(lambda requests: len(requests) == 1)
    [stored] = await rig.history(ANA)  # the fake holds its answer: the attempt is in flight
    assert (stored.status, stored.attempts) == (Delivery.SENDING, 1)
    assert rig.graph.requests[0].body["biz_opaque_callback_data"] == str(message.id)
    await rig.graph.close()  # releases the held answer
    await sending
    [stored] = await rig.history(ANA)
    assert stored.status is Delivery.SENT


async def test_a_status_naming_an_interrupted_send_settles_it_and_it_is_not_sent_again(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    [left, after] = await interrupted(rig, "a1", "a2")
    assert rig.graph.requests == []  # held back for its status
    outbox = rig.outbox(interrupted_grace_s=GRACE_S)
    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        before = await rig.store.settle_by_status(_id(left), BOT_ID, "wamid.meta1")
        assert before is not None
        outbox.settled_by_status(before, "wamid.meta1")
        assert await outbox.run_once() == 1  # a2 goes now, not at the end of the grace
    assert rig.graph.texts_to(ANA) == ["a2"]
    stored = {m.text: m for m in await rig.history(ANA)}
    assert (stored["a1"].status, stored["a1"].provider_id) == (Delivery.SENT, "wamid.meta1")
    assert stored["a1"].error_detail is None and stored["a2"].status is Delivery.SENT
    assert any("recorded sent, not sent again" in r.getMessage() for r in caplog.records)
    outcome = {"channel": "whatsapp", "outcome": "settled_by_status"}
    assert rig.counter("bot_outbound_interrupted_total", **outcome) == 1
    # its later statuses find it by the wamid; a second status with our id changes nothing
    assert await rig.store.update_delivery("wamid.meta1", Delivery.DELIVERED)
    assert await rig.store.settle_by_status(_id(left), BOT_ID, "wamid.other") is None
    assert (await rig.history(ANA))[0].status is Delivery.DELIVERED
    del after


async def test_without_a_status_it_is_sent_again_when_the_grace_ends_before_the_next(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    [left, _] = await interrupted(rig, "a1", "a2")
    [other] = await rig.queue(BEN, "b1")
    outbox = rig.outbox(interrupted_grace_s=GRACE_S)
    rig.clock.advance(seconds=GRACE_S - 1)
    assert await outbox.run_once() == 1  # BEN is not held up; ANA's a2 waits behind a1
    assert rig.graph.texts_to(ANA) == [] and rig.graph.texts_to(BEN) == ["b1"]
    rig.clock.advance(seconds=1)
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        assert await outbox.run_once() == 2
    assert rig.graph.texts_to(ANA) == ["a1", "a2"]  # at least once, in order
    assert [r.body.get("biz_opaque_callback_data") for r in rig.graph.requests[1:]] == [
        str(left.id),
        str(_id(left) + 1),
    ]
    assert [(m.status, m.attempts) for m in await rig.history(ANA)] == [
        (Delivery.SENT, 2),
        (Delivery.SENT, 1),
    ]
    assert any("sent again (the user may get it twice)" in r.getMessage() for r in caplog.records)
    assert rig.counter("bot_outbound_interrupted_total", channel="whatsapp", outcome="resent") == 1
    del other


async def test_a_message_submitted_after_the_restart_waits_behind_the_interrupted_one(
    rig: Rig,
) -> None:
    await rig.queue(ANA, "a1")
    [left] = await rig.history(ANA)
    await rig.store.mark_outbound(_id(left), Delivery.SENDING, attempts=1)  # then SIGKILL
    outbox = rig.outbox(interrupted_grace_s=GRACE_S)
    await outbox.start()
    try:

        async def held() -> bool:
            return (await rig.history(ANA))[0].error_detail == INTERRUPTED_DETAIL

        await until(held)
        later = await rig.queue(ANA, "a2")  # the user writes again: a reply is stored
        await outbox.submit(later)
        await outbox.join()
        assert rig.graph.requests == []  # not sent ahead of a1
        before = await rig.store.settle_by_status(_id(left), BOT_ID, "wamid.meta1")
        assert before is not None
        outbox.settled_by_status(before, "wamid.meta1")
        await rig.graph.wait_for(lambda requests: len(requests) == 1)
        await outbox.join()
    finally:
        await outbox.stop(0)
    assert rig.graph.texts_to(ANA) == ["a2"]


def test_a_status_webhook_carries_our_id_back() -> None:
    value = status_update("wamid.meta1", "delivered")
    value["statuses"][0]["biz_opaque_callback_data"] = "42"
    [status] = parse_webhook(orjson.dumps(envelope(value))).statuses
    assert (status.message_id, status.reference) == ("wamid.meta1", "42")


async def test_on_redis_a_dead_workers_send_waits_for_its_status_then_is_sent_again(
    redis_server: RedisServer, rig: Rig
) -> None:
    redis_server.flush()
    store = RedisStore(redis_server.url)
    await store.open()
    try:
        await queue(store, ANA, ["a1", "a2"])
        await queue(store, BEN, ["b1", "b2"])
        clock = FakeClock(utc_now())  # after the messages were stored: they are due
        [ana1, _] = await store.pending_for(key(ANA), 10)
        [ben1, _] = await store.pending_for(key(BEN), 10)
        for left in (ana1, ben1):
            await store.mark_outbound(_id(left), Delivery.SENDING, attempts=1)  # then SIGKILL
        outbox = Outbox(
            store,
            {"whatsapp": WhatsAppClient(rig.http, rig.graph.url, TOKEN)},
            rig.metrics,
            clock=clock,
            settings=DeliverySettings(max_mps=0.0, interrupted_grace_s=GRACE_S),
        )
        assert await outbox.run_once() == 0  # both held back for their status
        before = await store.settle_by_status(_id(ana1), BOT_ID, "wamid.meta1")
        assert before is not None and before.error_detail == INTERRUPTED_DETAIL
        outbox.settled_by_status(before, "wamid.meta1")
        assert await outbox.run_once() == 1
        assert rig.graph.texts_to(ANA) == ["a2"] and rig.graph.texts_to(BEN) == []
        clock.advance(seconds=GRACE_S)
        assert await outbox.run_once() == 2
        assert rig.graph.texts_to(BEN) == ["b1", "b2"]
        statuses = [m.status for m in await store.messages(f"s-{ANA}")]
        assert statuses == [Delivery.SENT, Delivery.SENT]
        assert (await store.messages(f"s-{ANA}"))[0].provider_id == "wamid.meta1"
    finally:
        await store.close()


def _id(message: object) -> int:
    value = getattr(message, "id", None)
    assert isinstance(value, int)
    return value


async def test_a_status_naming_a_message_never_attempted_settles_nothing(rig: Rig) -> None:
    [fresh] = await rig.queue(ANA, "a1")  # e.g. a stale status naming a reused id
    assert await rig.store.settle_by_status(_id(fresh), BOT_ID, "wamid.stale") is None
    assert await rig.store.settle_by_status(_id(fresh) + 99, BOT_ID, "wamid.none") is None
    assert await rig.outbox().run_once() == 1
    assert rig.graph.texts_to(ANA) == ["a1"]
