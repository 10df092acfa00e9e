"""End to end: the real ``bot serve`` process, signed Cloud API payloads, a local fake Graph API.

Assertions are on what the fake Graph API received (what users would see) and on what the
admin API reports from the store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import APP_SECRET, VERIFY_TOKEN, BotServer
from tests.fakes.cloud_payloads import envelope, image_message, signed, text_message
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE_ID = "1234567890"
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")


def t(lang: str, key: str, **values: str) -> str:
    return LOCALES.text(lang, key, values)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeGraphAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(tmp_path_factory.mktemp("serve"), fake.url)
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def say(server: BotServer, user: str, text: str, wamid: str | None = None) -> int:
    extra = {"wamid": wamid} if wamid else {}
    body, headers = signed(
        envelope(text_message(text, wa_id=user, phone_number_id=PHONE_ID, **extra)), APP_SECRET
    )
    status, _ = await server.post(body, headers)
    return status


async def replies(fake: FakeGraphAPI, user: str, count: int) -> list[str]:
    """Wait until ``user`` received ``count`` texts; return them all."""
    await fake.wait_for(lambda _: len(fake.texts_to(user)) >= count, timeout_s=15)
    return fake.texts_to(user)


async def session_of(server: BotServer, user: str) -> dict[str, object]:
    status, body = await server.admin(f"/v1/sessions?user={user}")
    assert status == 200
    assert body["sessions"], f"no session stored for {user}"
    newest: dict[str, object] = body["sessions"][0]
    return newest


@pytest.mark.parametrize(
    ("lang", "user", "greeting", "trigger", "name", "email"),
    [
        ("es", "5491100000001", "hola", "quiero una prueba", "Juan Pérez", "juan@example.com"),
        ("en", "15550000001", "hello", "I want a free trial", "John Smith", "john@example.com"),
    ],
)
async def test_free_trial_flow_end_to_end(
    server: BotServer,
    fake: FakeGraphAPI,
    lang: str,
    user: str,
    greeting: str,
    trigger: str,
    name: str,
    email: str,
) -> None:
    assert await say(server, user, greeting) == 200
    assert await replies(fake, user, 1) == [t(lang, "welcome")]
    await say(server, user, trigger)
    assert (await replies(fake, user, 2))[1] == t(lang, "free_trial.ask_name")
    await say(server, user, name)
    assert (await replies(fake, user, 3))[2] == t(lang, "free_trial.ask_email", name=name)
    await say(server, user, "not an email")
    assert (await replies(fake, user, 4))[3] == t(lang, "invalid.email")
    await say(server, user, email)
    assert (await replies(fake, user, 5))[4] == t(lang, "free_trial.ask_plan", name=name)
    await say(server, user, "Pro")
    texts = await replies(fake, user, 7)
    session = await session_of(server, user)
    data = session["data"]
    assert isinstance(data, dict)
    assert texts[5] == t(lang, "free_trial.credentials", **data)
    assert data["password"] in texts[5] and data["username"] in texts[5]
    assert texts[6] == t(lang, "close.credentials_delivered")
    assert (session["status"], session["close_reason"]) == ("completed", "credentials_delivered")
    assert session["language"] == lang
    sent = [r for r in fake.requests if r.to == user]
    assert all(r.phone_number_id == PHONE_ID for r in sent)
    assert all(r.headers["Authorization"] == "Bearer test-access-token" for r in sent)
    reference = sent[0].body.get("biz_opaque_callback_data")
    assert isinstance(reference, str) and reference  # our message id, echoed in its statuses
    assert sent[0].body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": user,
        "type": "text",
        "text": {"preview_url": False, "body": t(lang, "welcome")},
        "biz_opaque_callback_data": reference,
    }
    assert len({r.body["biz_opaque_callback_data"] for r in sent}) == len(sent)


async def test_goodbye_in_the_middle_of_the_flow(server: BotServer, fake: FakeGraphAPI) -> None:
    user = "5491100000002"
    await say(server, user, "quiero una prueba")
    await replies(fake, user, 1)
    await say(server, user, "gracias, adiós")
    assert (await replies(fake, user, 2))[1] == t("es", "close.goodbye")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("completed", "goodbye")


async def test_cancel(server: BotServer, fake: FakeGraphAPI) -> None:
    user = "5491100000003"
    await say(server, user, "quiero una prueba")
    await replies(fake, user, 1)
    await say(server, user, "cancelar")
    assert (await replies(fake, user, 2))[1] == t("es", "close.cancel")
    session = await session_of(server, user)
    assert (session["status"], session["close_reason"]) == ("cancelled", "cancel")


async def test_the_same_wamid_twice_gets_one_reply(server: BotServer, fake: FakeGraphAPI) -> None:
    user = "5491100000004"
    assert await say(server, user, "hola", wamid="wamid.DUPLICATE1") == 200
    assert await say(server, user, "hola", wamid="wamid.DUPLICATE1") == 200
    await replies(fake, user, 1)
    await say(server, user, "chau")  # a later message proves the duplicate was handled
    texts = await replies(fake, user, 2)
    assert texts == [t("es", "welcome"), t("es", "close.goodbye")]
    session = await session_of(server, user)
    _, detail = await server.admin(f"/v1/sessions/{session['id']}")
    inbound = [m for m in detail["messages"] if m["direction"] == "in"]
    assert [m["text"] for m in inbound] == ["hola", "chau"]


async def test_media_gets_a_text_only_reply(server: BotServer, fake: FakeGraphAPI) -> None:
    user = "5491100000005"
    body, headers = signed(
        envelope(image_message(wa_id=user, phone_number_id=PHONE_ID)), APP_SECRET
    )
    assert (await server.post(body, headers))[0] == 200
    assert await replies(fake, user, 1) == [t("es", "text_only")]


async def test_a_wrong_signature_is_refused_and_nothing_is_stored(server: BotServer) -> None:
    user = "5491100000006"
    body, headers = signed(envelope(text_message("hola", wa_id=user)), "another-secret")
    status, reason = await server.post(body, headers)
    assert status == 401 and "X-Hub-Signature-256" in reason
    headers.pop("X-Hub-Signature-256")
    assert (await server.post(body, headers))[0] == 401
    status, listing = await server.admin(f"/v1/sessions?user={user}")
    assert listing["sessions"] == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "JSON"),
        (json.dumps({"object": "page", "entry": []}).encode(), "page"),
        (json.dumps([1, 2]).encode(), "object"),
    ],
)
async def test_bad_payloads_get_a_4xx_with_a_reason_and_the_server_stays_up(
    server: BotServer, raw: bytes, reason: str
) -> None:
    from bot.channels.whatsapp import sign

    status, text = await server.post(
        raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, raw)}
    )
    assert 400 <= status < 500
    assert reason in json.loads(text)["error"]
    assert (await server.admin("/v1/sessions"))[0] == 200


async def test_verification_handshake(server: BotServer) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        }
        async with http.get(f"{server.url}/webhook/whatsapp", params=params) as response:
            assert response.status == 200
            assert await response.text() == "1158201444"
        params["hub.verify_token"] = "wrong"
        async with http.get(f"{server.url}/webhook/whatsapp", params=params) as response:
            assert response.status == 403


async def test_admin_api_requires_the_token(server: BotServer) -> None:
    assert (await server.admin("/v1/sessions", token="wrong"))[0] == 401
    assert (await server.admin("/v1/sessions/nope"))[0] == 404
    assert (await server.admin("/v1/sessions?status=weird"))[0] == 400


async def test_inactivity_timeout_and_restart_notify_exactly_once(
    fake: FakeGraphAPI, tmp_path: Path
) -> None:
    bot = BotServer(tmp_path, fake.url, SESSION_TIMEOUT_MINUTES="0.05")
    await bot.start()
    try:
        user = "15550000002"
        await say(bot, user, "hello")
        assert await replies(fake, user, 1) == [t("en", "welcome")]
        assert (await replies(fake, user, 2))[1] == t("en", "close.timeout")
        session = await session_of(bot, user)
        assert (session["status"], session["close_reason"]) == ("timeout", "timeout")

        # Restart: stop with a session active, let its deadline pass while down, start again.
        user = "15550000003"
        await say(bot, user, "I want a free trial")
        assert await replies(fake, user, 1) == [t("en", "free_trial.ask_name")]
        assert await bot.stop() == 0
        import asyncio

        await asyncio.sleep(3.5)  # the service is down: nothing else can advance its clock
        assert fake.texts_to(user) == [t("en", "free_trial.ask_name")]
        await bot.start()
        texts = await replies(fake, user, 2)
        assert texts[1] == t("en", "close.timeout")
        await asyncio.sleep(1.0)  # five more sweeps: none may notify again
        assert len(fake.texts_to(user)) == 2
        session = await session_of(bot, user)
        assert session["status"] == "timeout"
    finally:
        await bot.stop()
