"""End to end: the operators' API of the real ``bot serve`` process over a Cloud API chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import ADMIN_TOKEN, APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE_ID = "1234567890"
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeGraphAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(tmp_path_factory.mktemp("admin"), fake.url)
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def say(server: BotServer, fake: FakeGraphAPI, user: str, text: str, replies: int) -> None:
    body, headers = signed(
        envelope(text_message(text, wa_id=user, phone_number_id=PHONE_ID)), APP_SECRET
    )
    assert (await server.post(body, headers))[0] == 200
    await fake.wait_for(lambda _: len(fake.texts_to(user)) >= replies, timeout_s=15)


async def call(
    server: BotServer, method: str, path: str, json: Any = None, token: str = ADMIN_TOKEN
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, f"{server.url}{path}", json=json, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        return response.status, await response.json()


async def test_an_operator_follows_and_closes_a_conversation(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491100000201"
    await say(server, fake, user, "hola", 1)
    await say(server, fake, user, "quiero una prueba", 2)

    status, active = await call(server, "GET", "/v1/sessions/active")
    assert status == 200
    assert [(s["user_id"], s["flow_id"]) for s in active["active_sessions"]] == [
        (user, "free_trial")
    ]
    assert active["total_active"] == 1

    _, mine = await call(server, "GET", f"/v1/users/{user}/session")
    session_id = mine["session"]["id"]
    assert [m["text"] for m in mine["session"]["messages"]][-1] == LOCALES.text(
        "es", "free_trial.ask_name"
    )
    _, state = await call(server, "GET", f"/v1/whatsapp/session-status/{PHONE_ID}?userId={user}")
    assert (state["success"], state["status"], state["sessionId"]) == (True, "active", session_id)

    status, closed = await call(server, "POST", f"/v1/sessions/{session_id}/cancel")
    assert (status, closed["status"], closed["notified"]) == (200, "cancelled", True)
    await fake.wait_for(lambda _: len(fake.texts_to(user)) >= 3, timeout_s=15)
    assert fake.texts_to(user)[-1] == LOCALES.text("es", "close.cancelled")
    assert (await call(server, "POST", f"/v1/sessions/{session_id}/cancel"))[0] == 409

    _, stats = await call(server, "GET", "/v1/stats")
    assert stats["sessions"]["by_close_reason"] == {"operator": 1}
    assert stats["flows"]["free_trial"]["sessions"] == 1
    assert stats["messages"] == {"in": 2, "out": 3}

    status, cleared = await call(
        server,
        "POST",
        f"/v1/whatsapp/clear-session/{PHONE_ID}",
        {"userId": user, "clearSession": True, "clearRedis": True, "clearDatabase": True},
    )
    assert status == 200
    assert cleared["results"]["clearDatabase"] == {
        "done": True,
        "deletedSessions": 1,
        "deletedMessages": 5,
    }
    assert (await call(server, "GET", f"/v1/sessions/{session_id}"))[0] == 404
    _, state = await call(server, "GET", f"/v1/whatsapp/session-status/{PHONE_ID}?userId={user}")
    assert state["status"] == "inactive"


async def test_the_api_refuses_a_wrong_token_and_documents_itself(server: BotServer) -> None:
    assert await call(server, "GET", "/v1/stats", token="nope") == (
        401,
        {"error": "missing or invalid bearer token"},
    )
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/v1/openapi.json") as response,
    ):
        assert response.status == 200
        document = await response.json()
    assert document["openapi"] == "3.1.0"
    assert "/v1/whatsapp/clear-session/{bot_id}" in document["paths"]
