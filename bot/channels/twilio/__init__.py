"""Twilio channels: WhatsApp and SMS through the Messages API, and voice calls through TwiML.

The web layer checks ``X-Twilio-Signature`` with :func:`verify_signature`, turns form
parameters into channel-neutral messages with :func:`parse_message` / :func:`parse_status` /
:func:`parse_voice`, replies to messages through :class:`TwilioMessagesClient` and speaks to
callers through :class:`VoiceReplies` and the TwiML of :func:`gather` / :func:`hangup`.
"""

from bot.channels.twilio.client import TwilioMessagesClient
from bot.channels.twilio.form import (
    CHANNEL_SMS,
    CHANNEL_VOICE,
    CHANNEL_WHATSAPP,
    WHATSAPP_PREFIX,
    VoiceRequest,
    parse_message,
    parse_status,
    parse_voice,
)
from bot.channels.twilio.signature import (
    SIGNATURE_HEADER,
    compute_signature,
    public_url,
    verify_signature,
)
from bot.channels.twilio.voice import VoiceReplies, gather, hangup, speakable, voice_language

__all__ = [
    "CHANNEL_SMS",
    "CHANNEL_VOICE",
    "CHANNEL_WHATSAPP",
    "SIGNATURE_HEADER",
    "WHATSAPP_PREFIX",
    "TwilioMessagesClient",
    "VoiceReplies",
    "VoiceRequest",
    "compute_signature",
    "gather",
    "hangup",
    "parse_message",
    "parse_status",
    "parse_voice",
    "public_url",
    "speakable",
    "verify_signature",
    "voice_language",
]
