"""The limits of the operators' API: declared once here, checked by the handlers
(:mod:`bot.web.admin.params`) and published in the OpenAPI document (:mod:`bot.web.openapi`).
"""

from __future__ import annotations

from bot.sessions.model import Status

CHANNELS = ("whatsapp", "twilio_whatsapp", "sms", "voice")
"""Every session channel (the ``channel`` filter takes one or several, comma-separated)."""
STATUSES = tuple(s.value for s in Status)
"""Every session status (the ``status`` filter takes one)."""
MAX_ID_LENGTH = 256
"""The longest user id, bot id, flow id or other free-text parameter accepted."""
MAX_SESSION_ID_LENGTH = 64
"""The longest session id accepted (ids are UUID4 hex: 32 characters)."""
MAX_LIMIT = 500
"""The largest page of sessions (``limit``; ``sessions`` of a user)."""
MAX_MESSAGES = 10_000
"""The most history messages one call returns."""
MAX_HEALTH_HOURS = 168
"""The most hours ``/v1/health`` covers (one week)."""
MAX_HANDOFFS = 500
"""The most sessions ``GET /v1/handoffs`` lists (``limit``)."""
MAX_AGENT_LENGTH = 128
"""The longest agent name (``agent`` of the handoff calls)."""
MAX_AGENT_TEXT_LENGTH = 4096
"""The longest agent message: WhatsApp's limit for a text body (Cloud API ``text.body``)."""
MAX_OFFSET = 10**9
"""The largest ``offset`` into a listing."""
REASON_PATTERN = "[a-z][a-z0-9_]{0,63}"
"""A close reason an operator gives (unanchored; the document anchors it)."""
DATE_TIME_PATTERN = (
    "^(?!000[01]-|9999-)([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})"
    "(\\.[0-9]{1,9})?([Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""RFC 3339 date-time with a zone, in the years 0002-9998: inside what a ``datetime`` holds
once moved to UTC (``0001-01-01T00:00:00+05:00`` is not). The same regex in ECMA-262 and
Python syntax; groups: date, clock, fraction, zone."""

NOT_BLANK_PATTERN = "[^\\s\\x1c-\\x1f\\x85]"
"""A JSON Schema ``pattern`` for "not blank" as the server reads it (``str.strip``): one
character that is not whitespace to Python. ECMA's ``\\s`` misses ``\\x1c``-``\\x1f`` and
``\\x85``, which Python strips."""
