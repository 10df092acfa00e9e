"""Twilio webhook form parameters → channel-neutral messages, statuses and voice requests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.channels.base import InboundKind, InboundMessage, StatusUpdate
from bot.channels.twilio import parse_message, parse_status, parse_voice
from bot.errors import BadRequest

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_an_sms() -> None:
    form = {"MessageSid": "SM1", "From": "+5491155550001", "To": "+14155550100", "Body": "hola"}
    assert parse_message(form, NOW) == InboundMessage(
        channel="sms",
        bot_id="+14155550100",
        user_id="+5491155550001",
        message_id="SM1",
        kind=InboundKind.TEXT,
        text="hola",
        timestamp=NOW,
    )


def test_a_whatsapp_message_with_profile_name() -> None:
    form = {
        "MessageSid": "SM2",
        "From": "whatsapp:+5491155550001",
        "To": "whatsapp:+14155238886",
        "Body": "hola",
        "ProfileName": "Ana",
        "WaId": "5491155550001",
    }
    message = parse_message(form, NOW)
    assert (message.channel, message.user_id, message.bot_id, message.display_name) == (
        "twilio_whatsapp",
        "+5491155550001",
        "+14155238886",
        "Ana",
    )


@pytest.mark.parametrize(
    ("extra", "kind", "text", "payload"),
    [
        (
            {"Body": "Sí", "ButtonText": "Sí", "ButtonPayload": "yes"},
            InboundKind.BUTTON,
            "Sí",
            "yes",
        ),
        ({"Body": "", "NumMedia": "1", "MediaUrl0": "https://x"}, InboundKind.MEDIA, None, None),
        ({"Body": "look", "NumMedia": "1"}, InboundKind.TEXT, "look", None),
        ({"Body": "", "Latitude": "-34.6", "Longitude": "-58.4"}, InboundKind.LOCATION, None, None),
        ({"Body": "  "}, InboundKind.UNSUPPORTED, None, None),
        ({"Body": "x", "NumMedia": "many"}, InboundKind.TEXT, "x", None),
    ],
)
def test_kinds(
    extra: dict[str, str], kind: InboundKind, text: str | None, payload: str | None
) -> None:
    form = {"MessageSid": "SM3", "From": "whatsapp:+1", "To": "whatsapp:+2", **extra}
    message = parse_message(form, NOW)
    assert (message.kind, message.text, message.payload) == (kind, text, payload)


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"From": "+1", "To": "+2"}, "missing Twilio parameter(s): MessageSid"),
        ({"MessageSid": "SM", "To": " "}, "missing Twilio parameter(s): From, To"),
        (
            {"MessageSid": "SM", "From": "whatsapp:+1", "To": "+2"},
            "From and To must both be whatsapp: addresses or both phone numbers",
        ),
        # An empty user must not become a session with an empty user id.
        (
            {"MessageSid": "SM", "From": "whatsapp:", "To": "whatsapp:+2"},
            "From is not a valid address (empty)",
        ),
        (
            {"MessageSid": "SM", "From": "whatsapp:+1", "To": "whatsapp:"},
            "To is not a valid address (empty)",
        ),
        ({"MessageSid": "SM", "From": "+", "To": "+2"}, "From is not a valid address (must start"),
        (
            {"MessageSid": "SM", "From": "+1 555", "To": "+2"},
            "From is not a valid address (character ' ' not allowed)",
        ),
        (
            {"MessageSid": "SM", "From": "+1\r\nINFO forged", "To": "+2"},
            "From is not a valid address (character '\\r' not allowed)",
        ),
        (
            {"MessageSid": "SM", "From": "+1\ud800", "To": "+2"},
            "From is not a valid address (character '\\ufffd' not allowed)",
        ),
        (
            {"MessageSid": "SM", "From": "whatsapp:" + "1" * 65, "To": "whatsapp:+2"},
            "From is not a valid address (65 characters, at most 64)",
        ),
        (
            {"MessageSid": "SM\x00", "From": "+1", "To": "+2"},
            "MessageSid is not a valid message id (character '\\x00' not allowed)",
        ),
    ],
)
def test_bad_messages(form: dict[str, str], reason: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_message(form, NOW)
    assert raised.value.status == 400
    assert raised.value.reason.startswith(reason)


def test_every_value_is_valid_text() -> None:
    """A lone surrogate (some form charsets can carry one) reaches no store or log as such."""
    form = {
        "MessageSid": "SM1",
        "From": "whatsapp:+5491155550001",
        "To": "whatsapp:+14155238886",
        "Body": "hola \ud800",
        "ButtonPayload": "p\udfff",
        "ButtonText": "S\ud800\udc00",
        "ProfileName": "Ana\udbff",
    }
    message = parse_message(form, NOW)
    assert (message.text, message.payload, message.display_name) == (
        "S\U00010000",
        "p\ufffd",
        "Ana\ufffd",
    )
    plain = parse_message({**form, "ButtonPayload": ""}, NOW)
    assert plain.text == "hola \ufffd"
    status = parse_status(
        {"MessageSid": "SM9", "MessageStatus": "failed", "ErrorMessage": "x\ud800"}, NOW
    )
    assert status is not None and status.error_title == "x\ufffd"
    assert (
        parse_voice({"CallSid": "CA", "From": "+1", "To": "+2", "SpeechResult": "\ud800"}).speech
        == "\ufffd"
    )


@pytest.mark.parametrize(
    ("twilio_status", "status"),
    [("sent", "sent"), ("delivered", "delivered"), ("read", "read"), ("failed", "failed"),
     ("undelivered", "failed")],
)  # fmt: skip
def test_final_statuses(twilio_status: str, status: str) -> None:
    form = {
        "MessageSid": "SM9",
        "MessageStatus": twilio_status,
        "From": "whatsapp:+14155238886",
        "To": "whatsapp:+5491155550001",
        "ErrorCode": "30003" if status == "failed" else "",
    }
    assert parse_status(form, NOW) == StatusUpdate(
        channel="twilio_whatsapp",
        bot_id="+14155238886",
        message_id="SM9",
        status=status,
        recipient_id="+5491155550001",
        timestamp=NOW,
        error_code=30003 if status == "failed" else None,
    )


@pytest.mark.parametrize("twilio_status", ["queued", "accepted", "sending", "scheduled"])
def test_intermediate_statuses_are_ignored(twilio_status: str) -> None:
    assert parse_status({"MessageSid": "SM9", "MessageStatus": twilio_status}, NOW) is None


def test_a_status_needs_sid_and_status() -> None:
    with pytest.raises(BadRequest, match="MessageStatus"):
        parse_status({"MessageSid": "SM9"}, NOW)


def test_voice_requests() -> None:
    start = parse_voice({"CallSid": "CA1", "From": "+1", "To": "+2", "CallStatus": "ringing"})
    assert (start.call_sid, start.caller, start.called, start.speech) == ("CA1", "+1", "+2", "")
    heard = parse_voice({"CallSid": "CA1", "From": "+1", "To": "+2", "SpeechResult": " hola "})
    assert heard.speech == "hola"
    with pytest.raises(BadRequest, match="CallSid"):
        parse_voice({"From": "+1", "To": "+2"})
