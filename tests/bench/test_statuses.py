"""The realistic-traffic pieces of ``make bench``: the fake posts Meta's three status webhooks,
the echo-bot floor replies once per text, and the statuses reach the store of a real
``bot serve``; and a status of a recorded send costs the store one call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bench import echo_floor, statuses
from bench.e2e import Sizes
from bench.statuses_report import rows
from bot.channels.base import StatusUpdate
from bot.channels.whatsapp import parse_webhook, verify_signature
from bot.sessions.model import Delivery, Direction, MessageRecord, SessionKey
from bot.sessions.sqlite.rows import message_of_row
from tests.conftest import Harness
from tests.fakes.cloud_payloads import DEFAULT_PHONE_NUMBER_ID, envelope, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.server import serve_local
from tests.fakes.status_webhooks import (
    REALISTIC,
    StatusStep,
    parse_steps,
)

SECRET = "test-app-secret"
USER = "5491155550001"
INSTANT = (StatusStep("sent", 0, 0), StatusStep("delivered", 0, 0), StatusStep("read", 0, 0))


@dataclass
class Receiver:
    """A webhook endpoint recording what reaches it."""

    url: str
    bodies: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found: list[tuple[bytes, dict[str, str]]] = []

    async def record(request: web.Request) -> web.Response:
        found.append((await request.read(), dict(request.headers)))
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_post("/webhook/whatsapp", record)
    runner, port = await serve_local(app)
    try:
        yield Receiver(f"http://127.0.0.1:{port}/webhook/whatsapp", found)
    finally:
        await runner.cleanup()


async def _send(fake: FakeGraphAPI, to: str, reference: str | None = None) -> str:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "text",
        "text": {"body": "hola"},
    }
    if reference is not None:
        body["biz_opaque_callback_data"] = reference
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.url}/{DEFAULT_PHONE_NUMBER_ID}/messages", json=body) as response,
    ):
        answer = await response.json()
    wamid: str = answer["messages"][0]["id"]
    return wamid


async def test_the_fake_posts_sent_delivered_read_with_metas_bodies_signed(
    receiver: Receiver,
) -> None:
    async with FakeGraphAPI() as fake:
        fake.post_statuses(receiver.url, SECRET, steps=INSTANT)
        wamid = await _send(fake, USER, reference="42")
        await fake.statuses_settled(timeout_s=10)
        assert fake.stats()["statuses_posted"] == {"sent": 1, "delivered": 1, "read": 1}
    items = []
    for raw, headers in receiver.bodies:
        assert verify_signature(SECRET, raw, headers["X-Hub-Signature-256"])
        assert headers["Content-Type"] == "application/json"
        body = json.loads(raw)
        assert body["object"] == "whatsapp_business_account"
        [change] = body["entry"][0]["changes"]
        assert change["field"] == "messages"
        assert change["value"]["metadata"]["phone_number_id"] == DEFAULT_PHONE_NUMBER_ID
        [item] = change["value"]["statuses"]
        items.append(item)
        [update] = parse_webhook(raw).statuses  # what the bot reads from it
        assert (update.message_id, update.status, update.reference) == (wamid, item["status"], "42")
    assert [i["status"] for i in items] == ["sent", "delivered", "read"]
    sent, delivered, read = items
    for item in items:
        assert item["id"] == wamid and item["recipient_id"] == USER
        assert item["timestamp"].isdigit()
    assert sent["conversation"]["id"] == delivered["conversation"]["id"]
    assert sent["conversation"]["origin"] == {"type": "service"}
    assert int(sent["conversation"]["expiration_timestamp"]) == int(sent["timestamp"]) + 86_400
    assert "expiration_timestamp" not in delivered["conversation"]
    for item in (sent, delivered):
        assert item["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    assert set(read) == {"id", "status", "timestamp", "recipient_id", "biz_opaque_callback_data"}


async def test_statuses_are_opt_in_and_spread_over_several_webhooks(receiver: Receiver) -> None:
    async with FakeGraphAPI() as fake:
        await _send(fake, USER)
        await fake.statuses_settled(timeout_s=10)
        assert receiver.bodies == [] and "statuses_posted" not in fake.stats()
        fake.post_statuses([receiver.url, receiver.url], SECRET, steps=INSTANT[:1])
        for _ in range(4):
            await _send(fake, USER)
        await fake.statuses_settled(timeout_s=10)
    assert len(receiver.bodies) == 4


def test_status_delays_are_bounded_and_ordered() -> None:
    assert parse_steps("sent=0.05:0.2,delivered=0.3:1,read=1:3") == REALISTIC
    with pytest.raises(ValueError, match="read=1:120"):
        parse_steps("read=1:120")
    with pytest.raises(ValueError, match="min <= max"):
        parse_steps("sent=0.2:0.1")
    with pytest.raises(ValueError, match="one of"):
        parse_steps("seen=0:1")


async def test_the_echo_floor_replies_once_per_text_and_ignores_statuses() -> None:
    async with FakeGraphAPI(access_token="t") as fake:
        runner, port = await serve_local(echo_floor.app(fake.url, SECRET, "t"))
        url = f"http://127.0.0.1:{port}/webhook/whatsapp"
        try:
            async with aiohttp.ClientSession() as http:

                async def post(body: dict[str, Any], secret: str = SECRET) -> int:
                    raw, headers = signed(body, secret)
                    async with http.post(url, data=raw, headers=headers) as response:
                        return response.status

                assert await post(envelope(text_message("hola", wa_id=USER))) == 200
                await fake.wait_for(lambda requests: len(requests) == 1)
                fake.post_statuses(url, SECRET, steps=INSTANT)  # its own reply's statuses
                assert await post(envelope(text_message("chau", wa_id=USER))) == 200
                await fake.wait_for(lambda requests: len(requests) == 2)
                await fake.statuses_settled(timeout_s=10)
                assert fake.statuses_posted == 3  # acknowledged, nothing sent for them
                assert await post(envelope(text_message("x", wa_id=USER)), "wrong") == 401
                await asyncio.sleep(0.05)  # a reply would have left by now
        finally:
            await runner.cleanup()
    assert fake.texts_to(USER) == ["echo: hola", "echo: chau"]


def test_the_echo_floor_finds_every_inbound_message() -> None:
    tap = {"type": "interactive", "from": USER, "id": "wamid.x"}
    tap["interactive"] = {"type": "button_reply", "button_reply": {"id": "pro", "title": "Pro"}}
    value = text_message("hola", wa_id=USER)
    value["messages"].append(tap)
    assert echo_floor.replies_of(envelope(value)) == [
        (DEFAULT_PHONE_NUMBER_ID, USER, "hola"),
        (DEFAULT_PHONE_NUMBER_ID, USER, "Pro"),
    ]


def test_a_real_worker_applies_every_status_of_every_reply(tmp_path: Path) -> None:
    result = statuses.sqlite_run(tmp_path, Sizes(warmup_users=3, status_users=10, connections=4))
    saturation = result["phases"][1]
    replies = saturation["expected_replies"]
    assert saturation["lost_replies"] == 0 and saturation["statuses_missing"] == 0
    assert saturation["statuses_applied"] == {
        "sent": replies,
        "delivered": replies,
        "read": replies,
    }
    assert result["store_check"]["ok"], result["store_check"]
    assert list(result["store_check"]["outbound_by_status"]) == ["read"]
    assert saturation["handled_per_s"] > 0 and result["tracebacks_in_log"] == 0


async def test_a_status_of_a_recorded_send_costs_one_store_call(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.say("hola")
    [reply] = [m for m in await _history(harness) if m.direction is Direction.OUT]
    settles: list[int] = []
    real_settle = harness.store.settle_by_status

    async def counted(message_id: int, bot_id: str, provider_id: str) -> MessageRecord | None:
        settles.append(message_id)
        return await real_settle(message_id, bot_id, provider_id)

    monkeypatch.setattr(harness.store, "settle_by_status", counted)
    assert reply.provider_id is not None and reply.id is not None
    await harness.runtime.engine.handle_status(_status(reply.provider_id, "read", reply.id))
    assert settles == []  # the wamid was known: no look-up by our id
    assert [m.status for m in await _history(harness) if m.direction is Direction.OUT] == [
        Delivery.READ
    ]


async def test_a_status_naming_a_send_whose_answer_was_lost_still_settles_it(
    harness: Harness,
) -> None:
    key = SessionKey("whatsapp", DEFAULT_PHONE_NUMBER_ID, USER)
    [left] = await harness.store.commit([], [_outbound(key)])
    assert left.id is not None
    await harness.store.mark_outbound(left.id, Delivery.SENDING, attempts=1)  # answer lost
    await harness.runtime.engine.handle_status(_status("wamid.meta9", "delivered", left.id))
    stored = await _by_id(harness, left.id)
    assert (stored.status, stored.provider_id) == (Delivery.DELIVERED, "wamid.meta9")


def _status(wamid: str, status: str, reference: int) -> StatusUpdate:
    return StatusUpdate(
        channel="whatsapp",
        bot_id=DEFAULT_PHONE_NUMBER_ID,
        message_id=wamid,
        status=status,
        recipient_id=USER,
        timestamp=datetime.now(UTC),
        reference=str(reference),
    )


def _outbound(key: SessionKey) -> MessageRecord:
    return MessageRecord(
        session_id=None,
        key=key,
        direction=Direction.OUT,
        kind="text",
        text="hola",
        created_at=datetime.now(UTC),
        step_id=None,
        provider_id=None,
        status=Delivery.PENDING,
    )


async def _history(harness: Harness) -> list[MessageRecord]:
    session = await harness.session_of(USER)
    return await harness.store.messages(session.id)


async def _by_id(harness: Harness, message_id: int) -> MessageRecord:
    """The stored row of ``message_id``, read from the file (it has no session)."""
    rows = await harness.store._read(
        lambda conn: conn.execute("SELECT * FROM messages WHERE id=?", (message_id,)).fetchall()
    )
    return message_of_row(rows[0])


def _phase(handled: float, cpu_ms: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": "saturation",
        "handled_per_s": handled,
        "server_cpu_ms_per_message": cpu_ms,
        "ack_errors": {},
        "lost_replies": 0,
        "statuses_applied": {"sent": 2, "delivered": 2, "read": 2},
        "statuses_expected": 6,
        "statuses_missing": 0,
        "status_lateness_ms": {"p50": 1.0, "p99": 2.0, "max": 3.0},
        **extra,
    }


def test_the_table_takes_the_lower_ratio_to_the_floor() -> None:
    result = {
        "echo_floor": {"phases": [_phase(1000, 0.2)]},
        "sqlite": {
            "phases": [_phase(500, 0.8)],
            "store_check": {"outbound_by_status": {"read": 2}, "ok": True},
        },
    }
    [(title, table)] = rows(result)
    assert title.startswith("Realistic traffic")
    ratio = next(r for r in table if r[0].startswith("ratio to the echo floor"))
    assert ratio[1:] == ("0.50; 0.25", ">= 0.4", "MISSED")  # by CPU it is a quarter
    handled = table[0]
    assert (handled[1], handled[3]) == ("500", "MISSED")
    stored = next(r for r in table if r[0].startswith("stored outbound"))
    assert stored[1:] == ("read 2", "all read", "met")
