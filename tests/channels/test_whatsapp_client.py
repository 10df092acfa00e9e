"""WhatsAppClient against a local fake of the Graph API: bodies, answers, errors, timeouts."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.base import OutboundSender
from bot.channels.whatsapp import WhatsAppClient
from bot.errors import ChannelSendError
from bot.privacy import mask_phone
from tests.fakes.graph_api import FakeGraphAPI

TOKEN = "EAAG-secret-token"
BOT_ID = "106540352242922"
USER = "5491155550001"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token=TOKEN) as fake:
        yield fake


@pytest.fixture
def client(session: aiohttp.ClientSession, fake: FakeGraphAPI) -> WhatsAppClient:
    return WhatsAppClient(session, fake.url, TOKEN, timeout_s=5.0)


async def serve(handler: Handler) -> TestServer:
    """A one-route server for answers the fake never gives."""
    app = web.Application()
    app.router.add_post("/v21.0/{phone_number_id}/messages", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_send_text_posts_metas_documented_body_and_returns_the_wamid(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    wamid = await client.send_text(BOT_ID, USER, "Hola, ¿en qué te ayudo? https://x.example")

    (sent,) = fake.requests
    assert sent.phone_number_id == BOT_ID
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "text",
        "text": {"preview_url": False, "body": "Hola, ¿en qué te ayudo? https://x.example"},
    }
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert wamid == sent.wamid
    assert wamid.startswith("wamid.")


async def test_client_satisfies_the_outbound_sender_protocol(client: WhatsAppClient) -> None:
    sender: OutboundSender = client
    assert await sender.send_text(BOT_ID, USER, "hi")


async def test_trailing_slash_in_api_url_is_ignored(
    session: aiohttp.ClientSession, fake: FakeGraphAPI
) -> None:
    client = WhatsAppClient(session, fake.url + "/", TOKEN)
    await client.send_text(BOT_ID, USER, "hi")
    assert fake.texts_to(USER) == ["hi"]


async def test_meta_error_becomes_channel_send_error_with_code_and_details(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    fake.fail_next(
        status=400,
        code=131047,
        message="Re-engagement message",
        details="More than 24 hours have passed since the customer last replied.",
    )

    with pytest.raises(ChannelSendError) as caught:
        await client.send_text(BOT_ID, USER, "late")

    error = caught.value
    assert (error.status, error.code) == (400, 131047)
    assert error.detail == (
        "(#131047) Re-engagement message: "
        "More than 24 hours have passed since the customer last replied."
    )


async def test_details_equal_to_the_message_are_not_repeated(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    fake.fail_next(status=400, code=131026, message="Message undeliverable")
    with pytest.raises(ChannelSendError) as caught:
        await client.send_text(BOT_ID, USER, "hi")
    assert (caught.value.code, caught.value.detail) == (131026, "(#131026) Message undeliverable")


async def test_wrong_token_is_a_401_with_oauth_code(
    session: aiohttp.ClientSession, fake: FakeGraphAPI
) -> None:
    client = WhatsAppClient(session, fake.url, "wrong-token")
    with pytest.raises(ChannelSendError) as caught:
        await client.send_text(BOT_ID, USER, "hi")
    assert (caught.value.status, caught.value.code) == (401, 190)
    assert "Invalid OAuth access token" in caught.value.detail


async def test_timeout_is_channel_send_error_without_status(
    session: aiohttp.ClientSession, fake: FakeGraphAPI
) -> None:
    fake.delay_next(5.0)
    client = WhatsAppClient(session, fake.url, TOKEN, timeout_s=0.05)

    with pytest.raises(ChannelSendError) as caught:
        await client.send_text(BOT_ID, USER, "slow")

    assert (caught.value.status, caught.value.code) == (None, None)
    assert "timed out after 0.05s" in caught.value.detail
    assert isinstance(caught.value.__cause__, TimeoutError)


async def test_connection_refused_is_channel_send_error_without_status(
    session: aiohttp.ClientSession,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WhatsAppClient(session, f"http://127.0.0.1:{port}/v21.0", TOKEN, timeout_s=2.0)

    with pytest.raises(ChannelSendError) as caught:
        await client.send_text(BOT_ID, USER, "hi")

    assert (caught.value.status, caught.value.code) == (None, None)
    assert caught.value.detail.startswith("connection error")
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)


async def test_2xx_without_message_id_is_channel_send_error(
    session: aiohttp.ClientSession,
) -> None:
    async def accepted_without_id(request: web.Request) -> web.Response:
        return web.json_response({"messaging_product": "whatsapp", "messages": []})

    server = await serve(accepted_without_id)
    try:
        client = WhatsAppClient(session, str(server.make_url("/v21.0")), TOKEN)
        with pytest.raises(ChannelSendError) as caught:
            await client.send_text(BOT_ID, USER, "hi")
    finally:
        await server.close()
    assert (caught.value.status, caught.value.code) == (200, None)
    assert "messages[0].id" in caught.value.detail


async def test_non_json_error_answer_keeps_status_and_a_snippet(
    session: aiohttp.ClientSession,
) -> None:
    async def gateway_error(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>")

    server = await serve(gateway_error)
    try:
        client = WhatsAppClient(session, str(server.make_url("/v21.0")), TOKEN)
        with pytest.raises(ChannelSendError) as caught:
            await client.send_text(BOT_ID, USER, "hi")
    finally:
        await server.close()
    assert (caught.value.status, caught.value.code) == (502, None)
    assert "Bad Gateway" in caught.value.detail


async def test_logs_mask_the_phone_and_never_show_the_token(
    client: WhatsAppClient, fake: FakeGraphAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.channels.whatsapp"):
        await client.send_text(BOT_ID, USER, "ok")
        fake.fail_next()
        with pytest.raises(ChannelSendError):
            await client.send_text(BOT_ID, USER, "refused")

    assert mask_phone(USER) in caplog.text
    assert USER not in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)


async def test_send_interactive_buttons_posts_metas_documented_body(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    wamid = await client.send_interactive_buttons(
        BOT_ID, USER, "¿Confirmás el turno?", [("yes", "Sí"), ("no", "No"), ("later", "Más tarde")]
    )

    (sent,) = fake.requests
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "¿Confirmás el turno?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Sí"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}},
                    {"type": "reply", "reply": {"id": "later", "title": "Más tarde"}},
                ]
            },
        },
    }
    assert wamid == sent.wamid
    assert fake.texts_to(USER) == ["¿Confirmás el turno?"]


@pytest.mark.parametrize(
    ("body", "buttons", "problem"),
    [
        ("Pick", [], "1-3 buttons"),
        ("Pick", [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")], "1-3 buttons"),
        ("Pick", [("a", "x" * 21)], "1-20 characters"),
        ("Pick", [("a", "")], "1-20 characters"),
        ("Pick", [("", "A")], "1-256 characters"),
        ("Pick", [("a", "A"), ("a", "B")], "unique"),
        ("", [("a", "A")], "1-1024 characters"),
        ("x" * 1025, [("a", "A")], "1-1024 characters"),
    ],
)
async def test_invalid_buttons_raise_value_error_before_sending(
    client: WhatsAppClient,
    fake: FakeGraphAPI,
    body: str,
    buttons: list[tuple[str, str]],
    problem: str,
) -> None:
    with pytest.raises(ValueError, match=problem):
        await client.send_interactive_buttons(BOT_ID, USER, body, buttons)
    assert fake.requests == []


async def test_twenty_character_title_is_accepted(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    await client.send_interactive_buttons(BOT_ID, USER, "Pick", [("a", "x" * 20)])
    assert len(fake.requests) == 1
