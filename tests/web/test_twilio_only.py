"""A deployment on Twilio only: no WhatsApp Cloud API tokens, the Twilio channels work and the
Cloud API webhook is not served."""

from __future__ import annotations

import pytest

from bot.wiring import Content
from tests.web.conftest import WebApp
from tests.web.test_twilio_messaging import USER, incoming, send, t


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {"WHATSAPP_ACCESS_TOKEN": "", "WHATSAPP_VERIFY_TOKEN": ""}


async def test_sms_is_answered_without_whatsapp_tokens(webapp: WebApp, content: Content) -> None:
    assert not webapp.settings.whatsapp.enabled
    await send(webapp, incoming("hola"))
    assert await webapp.twilio.wait_texts(USER, 1) == [t(content, "es", "welcome")]
    async with webapp.client.post("/webhook/whatsapp", data=b"{}") as response:
        assert response.status == 404
    async with webapp.client.get("/readyz") as response:
        assert response.status == 200
