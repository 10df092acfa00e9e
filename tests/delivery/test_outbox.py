"""The outbox: what reaches the (fake) Graph API, in which order and when, and what is stored.

Tests that step time use the fake clock and ``run_once`` (nothing sleeps); tests of the
background sender use the real clock with millisecond backoffs and wait for the fake to
receive what they expect.
"""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest

from bot.clock import utc_now
from bot.config import NoticeTemplate
from bot.sessions.model import Delivery, Priority
from tests.delivery.conftest import Rig

ANA, BEN, CAROL = "5491155550001", "5491155550002", "5491155550003"


async def test_rate_limited_sends_are_retried_with_backoff_and_arrive_in_order(rig: Rig) -> None:
    outbox = rig.outbox(clock=utc_now, max_mps=1000.0, retry_base_s=0.05, retry_max_s=1.0)
    users = [ANA, BEN, CAROL]
    for user in users:
        await rig.queue(user, *(f"{user} #{n}" for n in range(1, 4)), at=utc_now())
    rig.graph.fail_next(status=400, code=130429, message="Rate limit hit", count=8)
    await outbox.start()
    try:
        await rig.graph.wait_for(
            lambda _: all(len(rig.graph.texts_to(u)) == 3 for u in users), timeout_s=15
        )
    finally:
        await outbox.stop()

    for user in users:
        assert rig.graph.texts_to(user) == [f"{user} #1", f"{user} #2", f"{user} #3"]
        assert all(m.status is Delivery.SENT for m in await rig.history(user))
    # Each refused message came back later and later: at least half of the exponential step
    # (0.05 s, 0.1 s, 0.2 s, ...) after its previous attempt.
    arrivals: dict[str, list[float]] = {}
    for request in rig.graph.requests:
        arrivals.setdefault(request.text or "", []).append(request.received_at)
    retried = {text: times for text, times in arrivals.items() if len(times) > 1}
    assert sum(len(times) - 1 for times in retried.values()) == 8
    for times in retried.values():
        for attempt, (before, after) in enumerate(itertools.pairwise(times), 1):
            assert after - before >= 0.9 * 0.05 / 2 * 2 ** (attempt - 1)
    assert rig.counter("bot_send_retries_total", channel="whatsapp", code="130429") == 8


async def test_a_message_outside_the_window_fails_once_and_is_never_retried(rig: Rig) -> None:
    outbox = rig.outbox()
    rig.graph.fail_next(status=400, code=131047, message="Re-engagement message")
    records = await rig.queue(ANA, "first", "second")
    await outbox.submit(records)
    rig.clock.advance(minutes=30)
    assert await outbox.run_once() == 0

    first, second = await rig.history(ANA)
    assert (first.status, first.error_code, first.attempts) == (Delivery.FAILED, 131047, 1)
    assert first.error_detail == "(#131047) Re-engagement message"
    assert (second.status, second.attempts) == (Delivery.SENT, 1)  # not blocked by it
    assert [(r.text, r.status) for r in rig.graph.requests] == [("first", 400), ("second", 200)]
    assert rig.counter("bot_outbound_failed_total", channel="whatsapp", code="131047") == 1
    assert rig.counter("bot_send_retries_total", channel="whatsapp", code="131047") == 0


async def test_retry_after_is_waited_for_before_the_next_attempt(rig: Rig) -> None:
    outbox = rig.outbox()
    rig.graph.fail_next(status=429, code=4, message="Application request limit", retry_after="7")
    [message] = await rig.queue(ANA, "hola")
    await outbox.submit([message])
    [stored] = await rig.history(ANA)
    assert (stored.status, stored.attempts, stored.error_code) == (Delivery.PENDING, 1, 4)
    assert stored.next_attempt_at == rig.clock() + timedelta(seconds=7)
    rig.clock.advance(seconds=6.9)
    assert await outbox.run_once() == 0
    rig.clock.advance(seconds=0.1)
    assert await outbox.run_once() == 1
    [stored] = await rig.history(ANA)
    assert (stored.status, stored.attempts, stored.error_code) == (Delivery.SENT, 2, None)
    assert rig.graph.texts_to(ANA) == ["hola"]


async def test_the_pair_rate_limit_holds_back_that_user_only(rig: Rig) -> None:
    outbox = rig.outbox()
    rig.graph.fail_next(status=400, code=131056, message="pair rate limit hit")
    await rig.queue(ANA, "a1", "a2")
    await rig.queue(BEN, "b1")
    assert await outbox.run_once() == 1
    assert (rig.graph.texts_to(ANA), rig.graph.texts_to(BEN)) == ([], ["b1"])
    first, _ = await rig.history(ANA)
    assert first.next_attempt_at is not None
    assert first.next_attempt_at - rig.clock() >= timedelta(seconds=6)  # Meta: 1 per 6 s
    rig.clock.advance(seconds=6)
    assert await outbox.run_once() == 2
    assert rig.graph.texts_to(ANA) == ["a1", "a2"]


async def test_network_errors_are_retried_a_bounded_number_of_times(rig: Rig) -> None:
    outbox = rig.outbox(max_attempts=3)
    rig.graph.fail_all(status=503, code=2, message="Service temporarily unavailable")
    [message] = await rig.queue(ANA, "hola")
    await outbox.submit([message])
    for _ in range(5):
        rig.clock.advance(seconds=1)
        await outbox.run_once()
    [stored] = await rig.history(ANA)
    assert (stored.status, stored.attempts, stored.error_code) == (Delivery.FAILED, 3, 2)
    assert len(rig.graph.requests) == 3


async def test_a_rejected_token_is_logged_loudly_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = rig.outbox(token="expired-token")
    for user in (ANA, BEN, CAROL):
        await rig.queue(user, "hola")
    with caplog.at_level(logging.DEBUG, logger="bot.delivery"):
        assert await outbox.run_once() == 3
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(loud) == 1 and loud[0].levelno == logging.CRITICAL
    assert "code=190" in loud[0].getMessage()
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    for user in (ANA, BEN, CAROL):
        [stored] = await rig.history(user)
        assert (stored.status, stored.error_code, stored.attempts) == (Delivery.FAILED, 190, 1)


async def test_a_notice_outside_the_window_is_skipped_without_a_template(rig: Rig) -> None:
    outbox = rig.outbox()
    late = await rig.queue(
        ANA,
        "Cerré la conversación",
        notice="close.timeout",
        wrote_ago=timedelta(hours=24, minutes=1),
    )
    recent = await rig.queue(
        BEN,
        "Cerré la conversación",
        notice="close.timeout",
        wrote_ago=timedelta(hours=23, minutes=59),
    )
    await outbox.submit([*late, *recent])
    [skipped] = await rig.history(ANA)
    [sent] = await rig.history(BEN)
    assert (skipped.status, skipped.attempts) == (Delivery.SKIPPED_WINDOW, 0)
    assert sent.status is Delivery.SENT
    assert [r.to for r in rig.graph.requests] == [BEN]
    assert rig.counter("bot_outbound_skipped_total", channel="whatsapp", reason="window") == 1


async def test_a_notice_outside_the_window_goes_as_its_template(rig: Rig) -> None:
    template = NoticeTemplate("session_closed", ("name", "display_name"), {"es": "es_MX"})
    outbox = rig.outbox(templates={"close.timeout": template})
    notice = await rig.queue(
        ANA, "Cerré la conversación", notice="close.timeout", wrote_ago=timedelta(days=2)
    )
    reply = await rig.queue(BEN, "No entendí", wrote_ago=timedelta(days=2))
    await outbox.submit([*notice, *reply])
    [request] = rig.graph.requests
    assert (request.to, request.type) == (ANA, "template")
    assert request.body["template"] == {
        "name": "session_closed",
        "language": {"code": "es_MX"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "Ana P"}],
            }
        ],
    }
    [sent] = await rig.history(ANA)
    assert sent.status is Delivery.SENT and sent.provider_id == request.wamid
    [skipped] = await rig.history(BEN)  # a reply has no template
    assert skipped.status is Delivery.SKIPPED_WINDOW


async def test_replies_take_the_next_slot_before_bulk_notices(rig: Rig) -> None:
    outbox = rig.outbox(clock=utc_now, max_mps=40.0)
    bulk_users = [f"54911000{n:05d}" for n in range(30)]
    for user in bulk_users:
        await rig.queue(user, "timeout notice", priority=Priority.BULK, at=utc_now())
    await outbox.start()
    try:
        await rig.graph.wait_for(lambda requests: len(requests) >= 3)
        [reply] = await rig.queue(ANA, "your answer", at=utc_now())
        queued_at = len(rig.graph.requests)
        await outbox.submit([reply])
        await rig.graph.wait_for(lambda _: rig.graph.texts_to(ANA) == ["your answer"])
        position = [r.to for r in rig.graph.requests].index(ANA)
        await outbox.join()
    finally:
        await outbox.stop()
    assert position <= queued_at + 2  # at most the sends already in flight went first
    assert len(rig.graph.requests) == 31


async def test_what_a_crash_left_pending_is_sent_once_when_the_sender_starts(rig: Rig) -> None:
    users = [f"54911000{n:05d}" for n in range(20)]
    for user in users:
        await rig.queue(user, "first", "second", at=utc_now())
    outbox = rig.outbox(clock=utc_now)
    await outbox.start()
    await rig.graph.wait_for(lambda requests: len(requests) == 40)
    await outbox.join()
    await outbox.stop()
    again = rig.outbox(clock=utc_now)
    await again.start()
    await again.join()
    await again.stop()
    assert len(rig.graph.requests) == 40
    assert all(rig.graph.texts_to(u) == ["first", "second"] for u in users)


async def test_stopping_leaves_what_it_could_not_send_for_the_next_start(rig: Rig) -> None:
    users = [f"54911000{n:05d}" for n in range(12)]
    for user in users:
        await rig.queue(user, "notice", priority=Priority.BULK, at=utc_now())
    outbox = rig.outbox(clock=utc_now, max_mps=10.0)
    await outbox.start()
    await rig.graph.wait_for(lambda requests: len(requests) >= 2)
    await outbox.stop(grace_s=0.2)
    sent_before = len(rig.graph.requests)
    assert 2 <= sent_before < len(users)
    pending = await rig.store.pending_outbound(100)
    assert len(pending) == len(users) - sent_before
    again = rig.outbox(clock=utc_now)
    await again.start()
    await rig.graph.wait_for(lambda requests: len(requests) == len(users))
    await again.stop()
    assert sorted(r.to for r in rig.graph.requests) == sorted(users)  # each exactly once


async def test_after_stopping_nothing_is_sent_and_everything_stays_pending(rig: Rig) -> None:
    outbox = rig.outbox(clock=utc_now)
    await outbox.start()
    await outbox.stop()
    records = await rig.queue(ANA, "late", at=utc_now())
    await outbox.submit(records)
    assert rig.graph.requests == []
    assert [m.text for m in await rig.store.pending_outbound(10)] == ["late"]
    with pytest.raises(RuntimeError):
        await outbox.start()


async def test_a_reply_handed_over_while_an_older_one_waits_for_a_retry_waits_too(
    rig: Rig,
) -> None:
    # The started sender sends what it is handed without reading it back (SQLite): except
    # for a user with an older message still pending, which must not be overtaken.
    outbox = rig.outbox(clock=utc_now, max_mps=1000.0, retry_base_s=0.3, retry_max_s=0.6)
    await outbox.start()
    try:
        await outbox.submit(await rig.queue(ANA, "hello", at=utc_now()))
        await rig.graph.wait_for(lambda _: rig.graph.texts_to(ANA) == ["hello"], timeout_s=5)
        rig.graph.fail_next(status=500, code=131000, message="Something went wrong")
        await outbox.submit(await rig.queue(ANA, "first", at=utc_now()))
        await rig.graph.wait_for(lambda _: len(rig.graph.requests) == 2, timeout_s=5)
        await outbox.submit(await rig.queue(ANA, "second", at=utc_now()))
        await outbox.submit(await rig.queue(BEN, "to ben", at=utc_now()))
        await rig.graph.wait_for(lambda _: len(rig.graph.texts_to(ANA)) == 3, timeout_s=5)
        await outbox.join()
    finally:
        await outbox.stop()
    assert rig.graph.texts_to(ANA) == ["hello", "first", "second"]
    assert rig.graph.texts_to(BEN) == ["to ben"]
    assert [m.status for m in await rig.history(ANA)] == [Delivery.SENT] * 3
