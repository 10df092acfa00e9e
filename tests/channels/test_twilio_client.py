"""The Messages API client against a local fake of Twilio's API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.twilio import TwilioMessagesClient
from bot.errors import ChannelSendError
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilioAPI]:
    async with FakeTwilioAPI() as api:
        yield api


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_whatsapp_sends_from_the_number_written_to(
    fake: FakeTwilioAPI, http: aiohttp.ClientSession
) -> None:
    client = TwilioMessagesClient(
        http, fake.url, ACCOUNT_SID, AUTH_TOKEN, address_prefix="whatsapp:"
    )
    sid = await client.send_text("+14155238886", "+5491155550001", "hola")
    (sent,) = fake.requests
    assert (sent.to, sent.from_, sent.body, sent.sid, sent.status) == (
        "whatsapp:+5491155550001",
        "whatsapp:+14155238886",
        "hola",
        sid,
        201,
    )
    assert sid.startswith("SM") and len(sid) == 34
    assert (sent.messaging_service_sid, sent.status_callback) == ("", "")


async def test_sms_through_a_messaging_service_with_a_status_callback(
    fake: FakeTwilioAPI, http: aiohttp.ClientSession
) -> None:
    client = TwilioMessagesClient(
        http,
        fake.url + "/",
        ACCOUNT_SID,
        AUTH_TOKEN,
        messaging_service_sid="MG" + "1" * 32,
        status_callback_url="https://bot.example.com/webhook/twilio/status",
    )
    await client.send_text("+14155550100", "+5491155550001", "hola")
    (sent,) = fake.requests
    assert (sent.to, sent.from_, sent.messaging_service_sid, sent.status_callback) == (
        "+5491155550001",
        "",
        "MG" + "1" * 32,
        "https://bot.example.com/webhook/twilio/status",
    )


async def test_twilios_error_object_becomes_a_send_error(
    fake: FakeTwilioAPI, http: aiohttp.ClientSession
) -> None:
    fake.fail_next(400, 21211, "The 'To' number +1 is not a valid phone number.")
    client = TwilioMessagesClient(http, fake.url, ACCOUNT_SID, AUTH_TOKEN)
    with pytest.raises(ChannelSendError) as raised:
        await client.send_text("+14155550100", "+1", "hola")
    assert (raised.value.status, raised.value.code, raised.value.detail) == (
        400,
        21211,
        "The 'To' number +1 is not a valid phone number.",
    )


async def test_a_wrong_token_is_twilios_401(
    fake: FakeTwilioAPI, http: aiohttp.ClientSession
) -> None:
    client = TwilioMessagesClient(http, fake.url, ACCOUNT_SID, "wrong")
    with pytest.raises(ChannelSendError) as raised:
        await client.send_text("+14155550100", "+5491155550001", "hola")
    assert (raised.value.status, raised.value.code) == (401, 20003)


async def test_an_unreachable_api_is_a_send_error_without_status(
    http: aiohttp.ClientSession,
) -> None:
    client = TwilioMessagesClient(http, "http://127.0.0.1:9", ACCOUNT_SID, AUTH_TOKEN, timeout_s=2)
    with pytest.raises(ChannelSendError) as raised:
        await client.send_text("+14155550100", "+5491155550001", "hola")
    assert raised.value.status is None
    assert raised.value.detail.startswith("connection error")


def test_the_token_is_not_in_the_repr() -> None:
    assert AUTH_TOKEN not in repr(
        TwilioMessagesClient(None, "https://api.twilio.com", ACCOUNT_SID, AUTH_TOKEN)  # type: ignore[arg-type]
    )
