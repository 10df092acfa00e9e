"""The 24-hour window: when a message is outside it, and the approved template sent instead.

WhatsApp accepts free-form messages only within 24 hours of the user's last message. One
outside it is sent as the approved template configured for its notice (its language the
session's, its body parameters the session's slots), or recorded ``skipped_window``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.config import NoticeTemplate
from bot.sessions.model import MessageRecord, Session
from bot.sessions.store import OutboxStore

WINDOW = timedelta(hours=24)
"""WhatsApp's customer service window: free-form messages only this long after the user's
last message (Meta, "Customer service windows")."""
WINDOW_CHANNELS = frozenset({"whatsapp", "twilio_whatsapp"})
"""Channels with the 24-hour window (Twilio enforces WhatsApp's rule too, error 63016)."""


@runtime_checkable
class TemplateSender(Protocol):
    """A sender that can send approved templates (``WhatsAppClient``)."""

    async def send_template(
        self, bot_id: str, to: str, name: str, language: str, parameters: Sequence[str] = ()
    ) -> str:
        """Send template ``name`` in ``language`` with body ``parameters``; the provider's id."""
        ...


def outside_window(last_inbound: datetime | None, now: datetime) -> bool:
    """Whether ``now`` is 24 hours or more after ``last_inbound`` (``None``: not known, inside)."""
    return last_inbound is not None and now - last_inbound >= WINDOW


async def template_args(
    store: OutboxStore,
    template: NoticeTemplate | None,
    record: MessageRecord,
    default_language: str,
) -> tuple[str, list[str]] | None:
    """The language and body parameters of ``template`` for ``record`` (read before the
    attempt is recorded: a store failure here leaves the message pending, not sending)."""
    if template is None:
        return None
    session = await store.get(record.session_id) if record.session_id else None
    language = (session.language if session else None) or default_language
    return template.languages.get(language, language), template_values(template, session)


def template_values(template: NoticeTemplate, session: Session | None) -> list[str]:
    """The body parameters of ``template`` for ``session``: each a slot of ``session.data`` or
    ``display_name``; ``""`` when missing."""
    values = []
    for name in template.parameters:
        if session is None:
            value: object = None
        elif name == "display_name":
            value = session.display_name
        else:
            value = session.data.get(name)
        values.append("" if value is None else str(value))
    return values
