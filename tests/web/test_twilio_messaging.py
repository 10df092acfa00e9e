"""Twilio SMS and WhatsApp, in process: requests signed with Twilio's own algorithm (the
official ``twilio`` package), replies read from a local fake of Twilio's Messages API."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from bot.wiring import Content
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN
from tests.web.conftest import TWILIO_NUMBER, WebApp
from tests.web.free_trial import walk_free_trial

USER = "+5491155550001"
WA_USER = f"whatsapp:{USER}"
WA_NUMBER = f"whatsapp:{TWILIO_NUMBER}"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_sids = itertools.count(1)


def t(content: Content, lang: str, key: str, **values: str) -> str:
    return content.locales.text(lang, key, values)


def incoming(
    body: str, sender: str = USER, to: str = TWILIO_NUMBER, **extra: str
) -> dict[str, str]:
    """Form fields of an incoming message, as Twilio posts them."""
    fields = {
        "ToCountry": "US",
        "SmsMessageSid": "",
        "NumMedia": "0",
        "SmsSid": "",
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": f"SM{next(_sids):032x}",
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    fields["SmsMessageSid"] = fields["SmsSid"] = fields["MessageSid"]
    return fields


async def send(webapp: WebApp, fields: dict[str, str]) -> None:
    status, text = await webapp.twilio_post("/webhook/twilio", fields)
    assert (status, text) == (200, EMPTY_TWIML)


async def session_of(webapp: WebApp, user: str, channel: str) -> dict[str, Any]:
    status, body = await webapp.admin(
        "GET", f"/v1/sessions?user={user.replace('+', '%2B')}&channel={channel}"
    )
    assert status == 200 and body["sessions"], body
    newest: dict[str, Any] = body["sessions"][0]
    return newest


@pytest.mark.parametrize(
    ("channel", "sender", "to", "reply_to", "reply_from"),
    [
        ("sms", USER, TWILIO_NUMBER, USER, TWILIO_NUMBER),
        ("twilio_whatsapp", WA_USER, WA_NUMBER, WA_USER, WA_NUMBER),
    ],
)
async def test_free_trial_over_twilio(
    webapp: WebApp,
    content: Content,
    channel: str,
    sender: str,
    to: str,
    reply_to: str,
    reply_from: str,
) -> None:
    fake = webapp.twilio

    async def say(text: str) -> None:
        await send(webapp, incoming(text, sender, to, ProfileName="Juana"))

    await say("hola")
    assert await fake.wait_texts(reply_to, 1) == [t(content, "es", "welcome")]

    async def heard(count: int) -> list[str]:
        return (await fake.wait_texts(reply_to, count + 1))[1:]

    walk = await walk_free_trial(
        say, heard, content.locales, "es", "quiero una prueba", "Juana Pérez", "juana@example.com"
    )
    texts = walk.heard
    session = await session_of(webapp, USER, channel)
    assert texts[0] == t(content, "es", "free_trial.ask_name")
    assert t(content, "es", "free_trial.ask_email", name="Juana Pérez") in texts
    assert texts[-2:] == [
        t(content, "es", "free_trial.credentials", **session["data"]),
        t(content, "es", "close.credentials_delivered"),
    ]
    assert (session["status"], session["close_reason"]) == ("completed", "credentials_delivered")
    assert (session["channel"], session["bot_id"], session["display_name"]) == (
        channel,
        TWILIO_NUMBER,
        "Juana",
    )
    assert {(r.account_sid, r.from_, r.status) for r in fake.requests} == {
        (ACCOUNT_SID, reply_from, 201)
    }


async def test_the_same_person_on_sms_and_whatsapp_has_two_sessions(
    webapp: WebApp, content: Content
) -> None:
    await send(webapp, incoming("hola", USER))
    await send(webapp, incoming("hello", WA_USER, WA_NUMBER))
    assert await webapp.twilio.wait_texts(USER, 1) == [t(content, "es", "welcome")]
    assert await webapp.twilio.wait_texts(WA_USER, 1) == [t(content, "en", "welcome")]
    sms = await session_of(webapp, USER, "sms")
    whatsapp = await session_of(webapp, USER, "twilio_whatsapp")
    assert sms["id"] != whatsapp["id"]
    assert (sms["language"], whatsapp["language"]) == ("es", "en")


async def test_a_message_sid_delivered_twice_is_processed_once(
    webapp: WebApp, content: Content
) -> None:
    fields = incoming("hola")
    await send(webapp, fields)
    await webapp.twilio.wait_texts(USER, 1)
    await send(webapp, fields)
    await send(webapp, incoming("quiero una prueba"))
    texts = await webapp.twilio.wait_texts(USER, 2)
    assert texts == [t(content, "es", "welcome"), t(content, "es", "free_trial.ask_name")]
    session = await session_of(webapp, USER, "sms")
    _, detail = await webapp.admin("GET", f"/v1/sessions/{session['id']}")
    assert [m["text"] for m in detail["messages"] if m["direction"] == "in"] == [
        "hola",
        "quiero una prueba",
    ]


async def test_media_without_text_gets_the_text_only_reply(
    webapp: WebApp, content: Content
) -> None:
    await send(
        webapp,
        incoming("", NumMedia="1", MediaContentType0="image/jpeg", MediaUrl0="https://x/y"),
    )
    assert await webapp.twilio.wait_texts(USER, 1) == [t(content, "es", "text_only")]


@pytest.mark.parametrize(
    "signature",
    ["", "bm90IGEgc2lnbmF0dXJl", "wrong"],
)
async def test_a_missing_or_wrong_signature_is_401_and_nothing_is_stored(
    webapp: WebApp, signature: str
) -> None:
    status, text = await webapp.twilio_post(
        "/webhook/twilio", incoming("hola"), signature=signature
    )
    assert status == 401
    assert "X-Twilio-Signature" in text
    assert (await webapp.admin("GET", "/v1/sessions"))[1]["total"] == 0


async def test_a_request_signed_with_another_token_is_401(webapp: WebApp) -> None:
    status, _ = await webapp.twilio_post("/webhook/twilio", incoming("hola"), token="other")
    assert status == 401


async def test_a_tampered_parameter_breaks_the_signature(webapp: WebApp) -> None:
    fields = incoming("hola")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        webapp.url("/webhook/twilio"), fields
    )
    fields["Body"] = "cancelar"
    status, _ = await webapp.twilio_post("/webhook/twilio", fields, signature=signature)
    assert status == 401


async def test_missing_fields_are_400_with_the_names(webapp: WebApp) -> None:
    fields = incoming("hola")
    del fields["MessageSid"], fields["To"]
    status, text = await webapp.twilio_post("/webhook/twilio", fields)
    assert (status, text) == (400, '{"error": "missing Twilio parameter(s): MessageSid, To"}')


@pytest.mark.parametrize("extra_env", [{"PUBLIC_BASE_URL": "https://bot.example.com/"}])
async def test_behind_a_proxy_the_public_url_is_what_is_signed(
    webapp: WebApp, content: Content
) -> None:
    public = "https://bot.example.com/webhook/twilio"
    status, _ = await webapp.twilio_post("/webhook/twilio", incoming("hola"))
    assert status == 401  # signed over the local URL: not what Twilio would sign
    status, _ = await webapp.twilio_post("/webhook/twilio", incoming("hola"), signed_url=public)
    assert status == 200
    assert await webapp.twilio.wait_texts(USER, 1) == [t(content, "es", "welcome")]
    assert webapp.twilio.requests[0].status_callback == (
        "https://bot.example.com/webhook/twilio/status"
    )


async def test_status_callbacks_update_the_stored_message(webapp: WebApp) -> None:
    await send(webapp, incoming("hola"))
    await send(webapp, incoming("hello", WA_USER, WA_NUMBER))
    await webapp.twilio.wait_texts(USER, 1)
    await webapp.twilio.wait_texts(WA_USER, 1)
    sms_sid, wa_sid = (r.sid for r in webapp.twilio.requests)
    for fields in (
        {"MessageSid": sms_sid, "MessageStatus": "sent", "To": USER, "From": TWILIO_NUMBER},
        {"MessageSid": sms_sid, "MessageStatus": "delivered", "To": USER, "From": TWILIO_NUMBER},
        {"MessageSid": sms_sid, "MessageStatus": "sending", "To": USER, "From": TWILIO_NUMBER},
        {
            "MessageSid": wa_sid,
            "MessageStatus": "undelivered",
            "ErrorCode": "63016",
            "To": WA_USER,
            "From": WA_NUMBER,
        },
    ):
        status, _ = await webapp.twilio_post(
            "/webhook/twilio/status", {**fields, "AccountSid": ACCOUNT_SID}
        )
        assert status == 204
    sms = await session_of(webapp, USER, "sms")
    whatsapp = await session_of(webapp, USER, "twilio_whatsapp")
    _, sms_detail = await webapp.admin("GET", f"/v1/sessions/{sms['id']}")
    _, wa_detail = await webapp.admin("GET", f"/v1/sessions/{whatsapp['id']}")
    assert [(m["provider_id"], m["status"]) for m in sms_detail["messages"][1:]] == [
        (sms_sid, "delivered")
    ]
    assert [(m["status"], m["error_code"]) for m in wa_detail["messages"][1:]] == [
        ("failed", 63016)
    ]
    status, _ = await webapp.twilio_post("/webhook/twilio/status", {"MessageSid": sms_sid})
    assert status == 400


async def test_a_refused_send_is_stored_failed_with_twilios_code(webapp: WebApp) -> None:
    webapp.twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    await send(webapp, incoming("hola"))
    await webapp.twilio.wait_for(lambda sent: len(sent) >= 1)
    session = await session_of(webapp, USER, "sms")
    for _ in range(50):
        _, detail = await webapp.admin("GET", f"/v1/sessions/{session['id']}")
        if detail["messages"][-1]["status"] != "pending":
            break
    out = detail["messages"][-1]
    assert (out["status"], out["error_code"], out["error_detail"]) == (
        "failed",
        21610,
        "Attempt to send to unsubscribed recipient",
    )


async def test_a_timeout_notice_goes_out_through_the_messages_api(
    webapp: WebApp, content: Content
) -> None:
    await send(webapp, incoming("hello", WA_USER, WA_NUMBER))
    await webapp.twilio.wait_texts(WA_USER, 1)
    webapp.clock.advance(minutes=31)
    assert await webapp.runtime.sweeper.run_once() == 1
    assert (await webapp.twilio.wait_texts(WA_USER, 2))[1] == t(content, "en", "close.timeout")


@pytest.mark.parametrize("extra_env", [{"TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}])
async def test_without_twilio_settings_the_routes_do_not_exist(webapp: WebApp) -> None:
    for path in ("/webhook/twilio", "/webhook/twilio/status", "/webhook/twilio/voice"):
        status, _ = await webapp.twilio_post(path, incoming("hola"))
        assert status == 404
