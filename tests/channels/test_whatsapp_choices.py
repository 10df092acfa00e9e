"""WhatsAppClient.send_choices against the fake Graph API: reply buttons, a list, or numbered
text, with Meta's documented interactive bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.base import Choice
from bot.channels.whatsapp import WhatsAppClient
from tests.fakes.graph_api import FakeGraphAPI

TOKEN = "test-token"
BOT_ID = "106540352242922"
USER = "5491155550001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def client(fake: FakeGraphAPI) -> AsyncIterator[WhatsAppClient]:
    async with aiohttp.ClientSession() as session:
        yield WhatsAppClient(session, fake.url, TOKEN, timeout_s=5.0)


async def test_up_to_three_short_options_are_reply_buttons(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    choices = [Choice("basic", "Básico"), Choice("pro", "Pro"), Choice("enterprise", "Empresa")]
    wamid = await client.send_choices(BOT_ID, USER, "¿Qué plan?", choices, "Ver opciones")
    (sent,) = fake.requests
    assert sent.body["interactive"] == {
        "type": "button",
        "body": {"text": "¿Qué plan?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "basic", "title": "Básico"}},
                {"type": "reply", "reply": {"id": "pro", "title": "Pro"}},
                {"type": "reply", "reply": {"id": "enterprise", "title": "Empresa"}},
            ]
        },
    }
    assert wamid == sent.wamid


async def test_more_options_or_descriptions_are_a_list(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    choices = [
        Choice("margherita", "Margarita", "Tomate, mozzarella y albahaca"),
        Choice("pepperoni", "Pepperoni"),
        Choice("veggie", "Vegetariana"),
        Choice("fugazzeta", "Fugazzeta"),
    ]
    await client.send_choices(BOT_ID, USER, "¿Qué pizza?", choices, "Ver opciones")
    (sent,) = fake.requests
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "¿Qué pizza?"},
            "action": {
                "button": "Ver opciones",
                "sections": [
                    {
                        "title": "Ver opciones",
                        "rows": [
                            {
                                "id": "margherita",
                                "title": "Margarita",
                                "description": "Tomate, mozzarella y albahaca",
                            },
                            {"id": "pepperoni", "title": "Pepperoni"},
                            {"id": "veggie", "title": "Vegetariana"},
                            {"id": "fugazzeta", "title": "Fugazzeta"},
                        ],
                    }
                ],
            },
        },
    }


async def test_a_title_too_long_for_a_button_goes_to_a_list(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    choices = [Choice("a", "Problema de facturación"), Choice("b", "Otro")]  # 23 > 20
    await client.send_choices(BOT_ID, USER, "¿Sobre qué?", choices, "A very long button label")
    (sent,) = fake.requests
    assert sent.body["interactive"]["type"] == "list"
    assert sent.body["interactive"]["action"]["button"] == "A very long button l"  # 20


async def test_what_no_list_can_hold_is_sent_as_numbered_text(
    client: WhatsAppClient, fake: FakeGraphAPI
) -> None:
    choices = [Choice(f"o{i}", f"Option {i}") for i in range(1, 12)]  # 11 > 10 rows
    await client.send_choices(BOT_ID, USER, "Pick one", choices, "Options")
    (sent,) = fake.requests
    assert sent.type == "text"
    assert sent.text == "Pick one\n\n" + "\n".join(f"{i}. Option {i}" for i in range(1, 12))
