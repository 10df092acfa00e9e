"""End to end: a text that used to stall the classifier for seconds is one ordinary message.

The real ``bot serve`` gets a signed Cloud API webhook whose text is 4,096 punctuation marks
(WhatsApp's own limit, so Meta delivers it; spaCy's suffix search is quadratic on it: 3-6 s
of a blocked event loop before the fix) or a long run without spaces (quadratic in the email
pattern of language identification: 8-38 s). While it is processed, ``/healthz`` must keep
answering quickly, and the message must be stored and answered like any other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.server import APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE_ID = "1234567890"
HEALTHZ_BUDGET_S = 1.0
"""Slowest acceptable ``/healthz`` while the message is processed (the stall was 3-38 s)."""


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeGraphAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(tmp_path_factory.mktemp("poison"), fake.url)
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


@pytest.mark.parametrize(
    ("user", "text"),
    [
        ("5491100000101", "!?.,;:" * 682 + "!?.,"),  # 4,096 characters of punctuation
        ("5491100000102", "a" * 100_000),  # a run without spaces
    ],
    ids=["punctuation-4096", "no-spaces-100k"],
)
async def test_a_pathological_text_is_answered_without_stalling_the_process(
    server: BotServer, fake: FakeGraphAPI, user: str, text: str
) -> None:
    body, headers = signed(
        envelope(text_message(text, wa_id=user, phone_number_id=PHONE_ID)), APP_SECRET
    )
    status, _ = await server.post(body, headers)
    assert status == 200

    slowest_s = 0.0
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 15
        while not fake.texts_to(user) and time.monotonic() < deadline:
            started = time.monotonic()
            async with http.get(f"{server.url}/healthz") as response:
                assert response.status == 200
            slowest_s = max(slowest_s, time.monotonic() - started)
            await asyncio.sleep(0.02)  # a probe every 20 ms while the message is handled

    assert fake.texts_to(user), f"no reply to the message:\n{server.log()[-2000:]}"
    assert slowest_s < HEALTHZ_BUDGET_S, f"/healthz took {slowest_s:.2f} s"
    status, sessions = await server.admin(f"/v1/sessions?user={user}")
    assert status == 200 and sessions["sessions"], "the message left no session in the store"
    assert "Traceback" not in server.log()
