"""End to end (issue 19): the real ``bot serve`` with signed Cloud API payloads and a local
fake Graph API. The ``handoff`` intent and the support flow's action hand off; the bot stays
silent while a person has the conversation (inbound stored); an agent's reply goes through the
outbox after the user's pending messages; giving back resumes the flow step; the handoff's own
timeout closes with its notice; of two agents taking one session at once, one wins and the
other gets 409 naming the holder, also across two workers on one Redis.

Absence of a reply is asserted without sleeping: the inbound message and any reply to it are
committed in one transaction, so once the admin API shows the inbound message stored, the
history (and the fake) already hold every reply there will be.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import ACCESS_TOKEN, ADMIN_TOKEN, APP_SECRET, BotServer
from tests.fakes.cloud_payloads import envelope, new_wamid, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI
from tests.redis_server import RedisServer

PHONE_ID = "1234567890"
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")


def t(key: str, lang: str = "es") -> str:
    return LOCALES.text(lang, key, {})


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token=ACCESS_TOKEN) as api:
        yield api


@pytest_asyncio.fixture
async def server(fake: FakeGraphAPI, tmp_path: Path) -> AsyncIterator[BotServer]:
    bot = BotServer(tmp_path, fake.url, DELIVERY_RETRY_BASE_SECONDS="0.2")
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def say(server: BotServer, user: str, text: str) -> None:
    body, headers = signed(
        envelope(text_message(text, wa_id=user, phone_number_id=PHONE_ID, wamid=new_wamid())),
        APP_SECRET,
    )
    status, _ = await server.post(body, headers)
    assert status == 200


async def heard(fake: FakeGraphAPI, user: str, count: int) -> list[str]:
    """Wait until ``user`` received ``count`` texts; return them all."""
    await fake.wait_for(lambda _: len(fake.texts_to(user)) >= count, timeout_s=20)
    return fake.texts_to(user)


async def call(server: BotServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            f"{server.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as response,
    ):
        return response.status, await response.json()


async def session_of(server: BotServer, user: str) -> dict[str, Any]:
    status, body = await call(server, "GET", f"/v1/sessions?user={user}&limit=1")
    assert status == 200 and body["sessions"], f"no session for {user}"
    newest: dict[str, Any] = body["sessions"][0]
    return newest


async def stored(server: BotServer, user: str, text: str) -> list[dict[str, Any]]:
    """Wait until the inbound ``text`` of ``user`` is stored; the session's messages."""
    for _ in range(200):
        session = await session_of(server, user)
        _, body = await call(server, "GET", f"/v1/sessions/{session['id']}/messages")
        messages: list[dict[str, Any]] = body["messages"]
        if any(m["direction"] == "in" and m["text"] == text for m in messages):
            return messages
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never stored")


async def test_the_intent_hands_off_and_the_bot_stays_silent(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491100000101"
    await say(server, user, "quiero hablar con una persona")
    assert await heard(fake, user, 1) == [t("handoff.notice")]
    await say(server, user, "hola? es por una factura")
    await say(server, user, "quiero una prueba gratis")  # no flow starts either
    messages = await stored(server, user, "quiero una prueba gratis")
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "quiero hablar con una persona"),
        ("out", t("handoff.notice")),
        ("in", "hola? es por una factura"),
        ("in", "quiero una prueba gratis"),
    ]
    assert fake.texts_to(user) == [t("handoff.notice")]
    _, queue = await call(server, "GET", "/v1/handoffs")
    [item] = [h for h in queue["handoffs"] if h["user_id"] == user]
    assert (item["reason"], item["agent"], item["last_inbound_text"]) == (
        "user_request",
        None,
        "quiero una prueba gratis",
    )


async def test_the_flow_action_hands_off_and_return_resumes_the_step(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491100000102"
    for text in ("necesito soporte", "Marta", "marta@example.com", "Facturación"):
        await say(server, user, text)
    assert (await heard(fake, user, 4))[-1] == t("support.ask_invoice")
    await say(server, user, "no la tengo")
    assert (await heard(fake, user, 5))[-1] == t("support.invalid_invoice")
    await say(server, user, "tampoco sé")
    assert (await heard(fake, user, 6))[-1] == t("handoff.notice")
    session = await session_of(server, user)
    assert session["status"] == "handoff"
    handoff = session["handoff"]
    assert (handoff["reason"], handoff["flow"], handoff["step"]) == (
        "invoice_not_found",
        "support",
        "to_person",
    )
    sid = session["id"]
    assert (await call(server, "POST", f"/v1/sessions/{sid}/handoff", {"agent": "ana"}))[0] == 200
    status, body = await call(
        server, "POST", f"/v1/sessions/{sid}/messages", {"agent": "ana", "text": "¿Qué pasó?"}
    )
    assert status == 202
    assert (await heard(fake, user, 7))[-1] == "¿Qué pasó?"
    status, body = await call(server, "POST", f"/v1/sessions/{sid}/return", {"agent": "ana"})
    assert (status, body["status"], body["step_id"]) == (200, "active", "describe")
    assert (await heard(fake, user, 8))[-1] == f"{t('handoff.returned')}\n\n{t('support.describe')}"


async def test_an_agent_reply_leaves_after_the_users_pending_messages(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491100000103"
    fake.fail_all()  # 503: the notice stays pending, retried
    await say(server, user, "un asesor por favor")
    await fake.wait_for(lambda sent: any(r.to == user for r in sent), timeout_s=20)
    sid = (await session_of(server, user))["id"]
    status, body = await call(
        server, "POST", f"/v1/sessions/{sid}/messages", {"agent": "ana", "text": "Hola, soy Ana"}
    )
    assert status == 202 and body["status"] == "pending"
    fake.recover()
    assert await heard(fake, user, 2) == [t("handoff.notice"), "Hola, soy Ana"]
    for _ in range(200):  # its status is stored like a bot message's
        _, detail = await call(server, "GET", f"/v1/sessions/{sid}/messages?after=0")
        mine = [m for m in detail["messages"] if m["id"] == body["message_id"]]
        if mine[0]["status"] == "sent":
            break
        await asyncio.sleep(0.05)
    assert (mine[0]["status"], mine[0]["agent"]) == ("sent", "ana")


async def test_two_agents_taking_one_session_one_wins(
    server: BotServer, fake: FakeGraphAPI
) -> None:
    user = "5491100000104"
    await say(server, user, "hola")
    await heard(fake, user, 1)
    sid = (await session_of(server, user))["id"]
    results = await asyncio.gather(
        *(
            call(server, "POST", f"/v1/sessions/{sid}/handoff", {"agent": a})
            for a in ("ana", "beto")
        )
    )
    assert sorted(status for status, _ in results) == [200, 409]
    winner = next(body["handoff"]["agent"] for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 409)
    assert loser["agent"] == winner
    assert (await heard(fake, user, 2))[-1] == t("handoff.notice")  # once
    assert fake.texts_to(user).count(t("handoff.notice")) == 1


async def test_the_handoff_timeout_closes_with_its_notice(
    fake: FakeGraphAPI, tmp_path: Path
) -> None:
    bot = BotServer(tmp_path, fake.url, HANDOFF_TIMEOUT_MINUTES="0.05")  # 3 s
    await bot.start()
    try:
        user = "5491100000105"
        await say(bot, user, "quiero hablar con una persona")
        assert await heard(fake, user, 2) == [t("handoff.notice"), t("close.handoff_timeout")]
        session = await session_of(bot, user)
        assert (session["status"], session["close_reason"]) == ("timeout", "handoff_timeout")
    finally:
        assert await bot.stop() == 0, bot.log()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.folder.mkdir()
    server.start()
    yield server
    server.stop()


async def test_two_workers_on_redis_give_the_session_to_one_agent(
    fake: FakeGraphAPI, tmp_path: Path, redis_server: RedisServer
) -> None:
    workers = []
    for i in range(2):
        folder = tmp_path / f"worker{i}"
        folder.mkdir()
        workers.append(BotServer(folder, fake.url, DATABASE_URL=redis_server.url))
    await asyncio.gather(*(w.start() for w in workers))
    try:
        users = [f"54911000002{n:02d}" for n in range(5)]
        for user in users:
            await say(workers[0], user, "un asesor por favor")
        for user in users:
            await heard(fake, user, 1)
            sid = (await session_of(workers[1], user))["id"]
            results = await asyncio.gather(
                call(workers[0], "POST", f"/v1/sessions/{sid}/handoff", {"agent": "ana"}),
                call(workers[1], "POST", f"/v1/sessions/{sid}/handoff", {"agent": "beto"}),
            )
            assert sorted(status for status, _ in results) == [200, 409], results
            holder = (await session_of(workers[0], user))["handoff"]["agent"]
            assert next(b["agent"] for s, b in results if s == 409) == holder
    finally:
        for worker in workers:
            assert await worker.stop() == 0, worker.log()
