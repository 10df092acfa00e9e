"""Turn Twilio's webhook form parameters into channel-neutral messages and statuses.

Field names are Twilio's (Twilio Docs, "Messaging webhooks" and "TwiML Voice: <Gather>"):

- Incoming message: ``MessageSid``, ``AccountSid``, ``From``, ``To``, ``Body``, ``NumMedia``,
  ``ProfileName``, ``WaId`` (WhatsApp), ``ButtonText`` / ``ButtonPayload`` (a WhatsApp
  quick-reply tap), ``Latitude`` / ``Longitude`` (a shared location). WhatsApp addresses carry a
  ``whatsapp:`` prefix (``From=whatsapp:+5491155550001``); SMS ones are bare E.164 numbers.
- Message status callback: ``MessageSid``, ``MessageStatus`` (``queued``, ``sent``,
  ``delivered``, ``read``, ``undelivered``, ``failed``, ...), ``ErrorCode``, ``To``, ``From``.
- Voice request: ``CallSid``, ``From``, ``To``, ``CallStatus``; after ``<Gather
  input="speech">``, ``SpeechResult`` and ``Confidence``.

Users and business numbers are stored without the ``whatsapp:`` prefix (``+5491155550001``),
so the same person keeps one id; the channel name tells the two transports apart.

Every value is decoded here into valid text (see :mod:`bot.channels.fields`): lone surrogates,
which some form charsets can produce, become U+FFFD. ``MessageSid`` must be a message id and,
on an incoming message, ``From`` and ``To`` (without ``whatsapp:``) must be addresses: an empty
user (``From=whatsapp:``), spaces or control characters are answered 400 with a reason, never
turned into a session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.channels.base import InboundKind, InboundMessage, StatusUpdate
from bot.channels.fields import address, provider_id, valid_text
from bot.errors import BadRequest

CHANNEL_WHATSAPP = "twilio_whatsapp"
"""WhatsApp through Twilio's Messages API."""
CHANNEL_SMS = "sms"
"""SMS through Twilio's Messages API."""
CHANNEL_VOICE = "voice"
"""Phone calls through Twilio Voice (TwiML)."""
WHATSAPP_PREFIX = "whatsapp:"

_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
}
"""Twilio ``MessageStatus`` values that change a stored message, as engine status names.
``queued``, ``accepting``, ``scheduled``, ``sending`` and the like are not final and ignored."""


def _required(form: Mapping[str, str], *names: str) -> list[str]:
    """The named fields, stripped and valid text.

    Raises:
        BadRequest: one of them is missing or blank.
    """
    missing = [name for name in names if not form.get(name, "").strip()]
    if missing:
        raise BadRequest(f"missing Twilio parameter(s): {', '.join(missing)}")
    return [valid_text(form[name].strip()) for name in names]


def _optional(form: Mapping[str, str], name: str) -> str:
    """The field as valid text, ``""`` when absent."""
    return valid_text(form.get(name, ""))


def split_address(address: str) -> tuple[str, str]:
    """``"whatsapp:+5491155550001"`` → ``("twilio_whatsapp", "+5491155550001")``; a bare
    number → ``("sms", number)``."""
    if address.startswith(WHATSAPP_PREFIX):
        return CHANNEL_WHATSAPP, address[len(WHATSAPP_PREFIX) :]
    return CHANNEL_SMS, address


def parse_message(form: Mapping[str, str], now: datetime) -> InboundMessage:
    """The inbound message of an incoming-message webhook.

    Args:
        form: The POST form fields.
        now: Receipt time (UTC); Twilio sends no timestamp with incoming messages.

    Raises:
        BadRequest: ``MessageSid``, ``From`` or ``To`` is missing; ``MessageSid`` is not a
            message id; ``From`` or ``To`` (without ``whatsapp:``) is not an address (an
            empty user, spaces, control characters: see :func:`bot.channels.fields.address`);
            ``From`` and ``To`` are not on the same transport (one ``whatsapp:``, the other
            not).
    """
    sid, sender, recipient = _required(form, "MessageSid", "From", "To")
    sid = provider_id("MessageSid", sid)
    channel, user_id = split_address(sender)
    to_channel, bot_id = split_address(recipient)
    user_id, bot_id = address("From", user_id), address("To", bot_id)
    if channel != to_channel:
        raise BadRequest("From and To must both be whatsapp: addresses or both phone numbers")
    body = _optional(form, "Body")
    payload = _optional(form, "ButtonPayload") or None
    kind = InboundKind.TEXT
    text: str | None = body
    if payload is not None:
        kind, text = InboundKind.BUTTON, _optional(form, "ButtonText") or body
    elif form.get("Latitude") and form.get("Longitude"):
        kind, text = InboundKind.LOCATION, None
    elif _int(form.get("NumMedia")) > 0 and not body.strip():
        kind, text = InboundKind.MEDIA, None
    elif not body.strip():
        kind, text = InboundKind.UNSUPPORTED, None
    return InboundMessage(
        channel=channel,
        bot_id=bot_id,
        user_id=user_id,
        message_id=sid,
        kind=kind,
        text=text,
        timestamp=now,
        payload=payload,
        display_name=_optional(form, "ProfileName") or None,
    )


def parse_status(form: Mapping[str, str], now: datetime) -> StatusUpdate | None:
    """The delivery status of a message status callback; ``None`` for a non-final status.

    Raises:
        BadRequest: ``MessageSid`` or ``MessageStatus`` is missing, or ``MessageSid`` is not
            a message id.
    """
    sid, status = _required(form, "MessageSid", "MessageStatus")
    sid = provider_id("MessageSid", sid)
    mapped = _STATUS.get(status.lower())
    if mapped is None:
        return None
    channel, bot_id = split_address(_optional(form, "From"))
    _, recipient = split_address(_optional(form, "To"))
    code = _int(form.get("ErrorCode"))
    return StatusUpdate(
        channel=channel,
        bot_id=bot_id,
        message_id=sid,
        status=mapped,
        recipient_id=recipient,
        timestamp=now,
        error_code=code or None,
        error_title=_optional(form, "ErrorMessage") or None,
    )


@dataclass(frozen=True, slots=True)
class VoiceRequest:
    """One request of a call: its start, or the result of a ``<Gather input="speech">``.

    Attributes:
        call_sid: Twilio's id of the call.
        caller: The caller's number (``From``), the user.
        called: The number called (``To``), the business side.
        speech: ``SpeechResult``, stripped; ``""`` when Twilio heard nothing or at call start.
    """

    call_sid: str
    caller: str
    called: str
    speech: str


def parse_voice(form: Mapping[str, str]) -> VoiceRequest:
    """The fields of a voice webhook request.

    Raises:
        BadRequest: ``CallSid``, ``From`` or ``To`` is missing.
    """
    call_sid, caller, called = _required(form, "CallSid", "From", "To")
    return VoiceRequest(call_sid, caller, called, _optional(form, "SpeechResult").strip())


def _int(raw: str | None) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return 0
