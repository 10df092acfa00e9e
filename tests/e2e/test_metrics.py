"""End to end: /metrics, /readyz and JSON logs of the real ``bot serve`` process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE_ID = "1234567890"
USER = "5491100000301"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeGraphAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(tmp_path_factory.mktemp("metrics"), fake.url, LOG_FORMAT="json")
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def get(server: BotServer, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}{path}") as response:
        return response.status, await response.text()


async def test_metrics_show_the_counts_a_conversation_caused(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    for count, text in enumerate(["hola", "quiero una prueba", "adiós"], start=1):
        body, headers = signed(
            envelope(text_message(text, wa_id=USER, phone_number_id=PHONE_ID)), APP_SECRET
        )
        assert (await server.post(body, headers))[0] == 200
        await fake.wait_for(lambda _, n=count: len(fake.texts_to(USER)) >= n, timeout_s=15)

    status, text = await get(server, "/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("bot_inbound_messages_total", (("channel", "whatsapp"), ("kind", "text")))] == 3
    assert (
        samples[("bot_outbound_messages_total", (("channel", "whatsapp"), ("kind", "text")))] == 3
    )
    assert samples[("bot_intents_total", (("intent", "greet"),))] == 1
    assert samples[("bot_intents_total", (("intent", "goodbye"),))] == 1
    assert samples[("bot_sessions_opened_total", (("channel", "whatsapp"),))] == 1
    closed = (("channel", "whatsapp"), ("reason", "goodbye"), ("status", "completed"))
    assert samples[("bot_sessions_closed_total", closed)] == 1
    latency = (("route", "/webhook/whatsapp"), ("status", "200"))
    assert samples[("bot_webhook_latency_seconds_count", latency)] == 3


async def test_readyz_and_healthz(server: BotServer) -> None:
    status, body = await get(server, "/readyz")
    assert status == 200 and json.loads(body)["status"] == "ready"
    assert (await get(server, "/healthz"))[0] == 200


async def test_logs_are_json_lines_with_masked_numbers(server: BotServer) -> None:
    log = server.log()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert records, log
    events = [r for r in records if r.get("event", "").startswith("session_")]
    assert [r["event"] for r in events if r["user"] == "54911****01"][:2] == [
        "session_created",
        "session_reused",
    ]
    assert USER not in log
