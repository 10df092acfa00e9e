"""End to end over Twilio: the real ``bot serve`` process, requests signed with Twilio's own
algorithm (the official ``twilio`` package), replies read from a local fake of Twilio's
Messages API; calls walk the flows through TwiML."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from twilio.request_validator import RequestValidator

from bot.channels.twilio import speakable
from bot.locales import Locales
from tests.conftest import REPO
from tests.e2e.server import BotServer
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.web.free_trial import walk_free_trial

pytestmark = pytest.mark.asyncio(loop_scope="module")

NUMBER = "+14155550100"
LOCALES = Locales.load(REPO / "locales", ["es", "en"], "es")
_sids = itertools.count(1)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake() -> AsyncIterator[FakeTwilioAPI]:
    async with FakeTwilioAPI() as api:
        yield api


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server(
    fake: FakeTwilioAPI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotServer]:
    bot = BotServer(
        tmp_path_factory.mktemp("twilio"),
        "http://127.0.0.1:9/v21.0",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_URL=fake.url,
    )
    await bot.start()
    yield bot
    assert await bot.stop() == 0, bot.log()


async def post(
    server: BotServer, path: str, params: dict[str, str], token: str = AUTH_TOKEN
) -> tuple[int, str]:
    url = f"{server.url}{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=params, headers={"X-Twilio-Signature": signature}) as response,
    ):
        return response.status, await response.text()


def incoming(text: str, sender: str, to: str) -> dict[str, str]:
    sid = f"SM{next(_sids):032x}"
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Body": text,
        "NumMedia": "0",
        "ProfileName": "Lucía",
    }


@pytest.mark.parametrize(
    ("user", "prefix"), [("+5491100000101", ""), ("+5491100000102", "whatsapp:")]
)
async def test_free_trial_over_sms_and_whatsapp_via_twilio(
    server: BotServer, fake: FakeTwilioAPI, user: str, prefix: str
) -> None:
    address, business = f"{prefix}{user}", f"{prefix}{NUMBER}"

    async def say(text: str) -> None:
        status, body = await post(server, "/webhook/twilio", incoming(text, address, business))
        assert status == 200, body

    async def heard(count: int) -> list[str]:
        return await fake.wait_texts(address, count, timeout_s=15)

    walk = await walk_free_trial(
        say, heard, LOCALES, "es", "quiero una prueba", "Lucía Gómez", "lucia@example.com"
    )
    assert walk.heard[0] == LOCALES.text("es", "free_trial.ask_name")
    assert walk.heard[-1] == LOCALES.text("es", "close.credentials_delivered")
    credentials = walk.heard[-2]
    assert "Lucía Gómez" in credentials and "Usuario:" in credentials
    assert "lucia@example.com" not in credentials  # no SMTP_URL: no claim that it was emailed
    assert {(r.from_, r.account_sid) for r in fake.requests if r.to == address} == {
        (business, ACCOUNT_SID)
    }
    status, body = await server.admin(f"/v1/sessions?user=%2B{user[1:]}")
    assert status == 200
    (session,) = body["sessions"]
    assert (session["channel"], session["status"], session["close_reason"]) == (
        "twilio_whatsapp" if prefix else "sms",
        "completed",
        "credentials_delivered",
    )
    assert session["display_name"] == "Lucía"


async def test_a_call_walks_the_flow_and_hangs_up_on_goodbye(server: BotServer) -> None:
    call = {"CallSid": "CA" + "12" * 16, "From": "+5491100000103", "To": NUMBER}
    status, twiml = await post(server, "/webhook/twilio/voice", {**call, "CallStatus": "ringing"})
    assert status == 200
    root = ET.fromstring(twiml)
    gather = root.find("Gather")
    assert gather is not None
    assert [s.text for s in gather.iter("Say")] == [speakable(LOCALES.text("es", "welcome"))]
    action = gather.get("action", "")
    status, twiml = await post(server, action, {**call, "SpeechResult": "quiero una prueba"})
    gather = ET.fromstring(twiml).find("Gather")
    assert gather is not None
    assert [s.text for s in gather.iter("Say")] == [
        speakable(LOCALES.text("es", "free_trial.ask_name"))
    ]
    action = gather.get("action", "")
    status, twiml = await post(server, action, {**call, "SpeechResult": "chau, gracias"})
    root = ET.fromstring(twiml)
    assert [e.tag for e in root] == ["Say", "Hangup"]
    assert root[0].text == speakable(LOCALES.text("es", "close.goodbye"))


async def test_unsigned_or_wrongly_signed_requests_are_401(server: BotServer) -> None:
    fields = incoming("hola", "+5491100000104", NUMBER)
    assert (await post(server, "/webhook/twilio", fields, token="not-the-token"))[0] == 401
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/webhook/twilio", data=fields) as response,
    ):
        assert response.status == 401
    status, body = await server.admin("/v1/sessions?user=%2B5491100000104")
    assert (status, body["total"]) == (200, 0)
