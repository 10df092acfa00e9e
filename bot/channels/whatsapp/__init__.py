"""WhatsApp Cloud API channel: webhook parsing, signature checks and the outbound client.

The web layer verifies ``X-Hub-Signature-256`` with :func:`verify_signature`, turns the body
into a :class:`WebhookBatch` with :func:`parse_webhook`, and replies through
:class:`WhatsAppClient`.
"""

from bot.channels.whatsapp.client import WhatsAppClient
from bot.channels.whatsapp.payload import (
    CHANNEL,
    WEBHOOK_OBJECT,
    WebhookBatch,
    parse_webhook,
)
from bot.channels.whatsapp.signature import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "CHANNEL",
    "SIGNATURE_HEADER",
    "WEBHOOK_OBJECT",
    "WebhookBatch",
    "WhatsAppClient",
    "parse_webhook",
    "sign",
    "verify_signature",
]
