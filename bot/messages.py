"""Channel-neutral message types: what a channel hands the engine (an inbound message, a
delivery status). Below channels and sessions, so both use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class InboundKind(StrEnum):
    """What an inbound message carries.

    ``TEXT``, ``INTERACTIVE`` (a reply-button or list tap) and ``BUTTON`` (a template quick-reply)
    are user input. ``MEDIA``, ``LOCATION`` and ``CONTACTS`` get an "I can only read text" reply.
    ``REACTION``, ``SYSTEM`` and ``UNSUPPORTED`` are recorded and otherwise ignored.
    """

    TEXT = "text"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    MEDIA = "media"
    LOCATION = "location"
    CONTACTS = "contacts"
    REACTION = "reaction"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"

    @property
    def is_user_input(self) -> bool:
        """True for kinds whose text the engine classifies and feeds to flows."""
        return self in (InboundKind.TEXT, InboundKind.INTERACTIVE, InboundKind.BUTTON)

    @property
    def wants_text_only_reply(self) -> bool:
        """True for kinds answered with the localized "I can only read text" notice."""
        return self in (InboundKind.MEDIA, InboundKind.LOCATION, InboundKind.CONTACTS)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message a user sent, normalized from the provider's payload.

    Attributes:
        channel: Channel name, e.g. ``"whatsapp"``.
        bot_id: The business side: WhatsApp ``metadata.phone_number_id``.
        user_id: The user: WhatsApp ``from`` (the wa_id, digits without ``+``).
        message_id: Provider message id (WhatsApp ``wamid``); the idempotency key.
        kind: What the message carries.
        text: The user's words: ``text.body``, an interactive reply's title, a button's text;
            ``None`` for kinds without text.
        payload: The machine id of a tapped button/list row, or a template button payload.
        timestamp: When the user sent it (UTC), from the provider's unix seconds.
        display_name: The user's WhatsApp profile name, when the payload carries it.
        language: The user's language when the channel knows it (e.g. ``bot chat --lang``);
            a new session starts in it instead of detecting it from the text.
    """

    channel: str
    bot_id: str
    user_id: str
    message_id: str
    kind: InboundKind
    text: str | None
    timestamp: datetime
    payload: str | None = None
    display_name: str | None = None
    language: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict (for the durable inbox); inverse of :meth:`from_json`."""
        return {
            "channel": self.channel,
            "bot_id": self.bot_id,
            "user_id": self.user_id,
            "message_id": self.message_id,
            "kind": self.kind.value,
            "text": self.text,
            "timestamp": self.timestamp.isoformat(),
            "payload": self.payload,
            "display_name": self.display_name,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboundMessage:
        """Rebuild a message from :meth:`to_json` output.

        Raises:
            KeyError, ValueError: ``data`` is not such output.
        """
        return cls(
            channel=data["channel"],
            bot_id=data["bot_id"],
            user_id=data["user_id"],
            message_id=data["message_id"],
            kind=InboundKind(data["kind"]),
            text=data["text"],
            timestamp=datetime.fromisoformat(data["timestamp"]),
            payload=data.get("payload"),
            display_name=data.get("display_name"),
            language=data.get("language"),
        )


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status for a message the service sent.

    Attributes:
        channel: Channel name, e.g. ``"whatsapp"``.
        bot_id: The business phone number id the message left from.
        message_id: Provider id of the outbound message (the ``wamid`` returned on send).
        status: ``"sent"``, ``"delivered"``, ``"read"`` or ``"failed"``.
        recipient_id: The user the message went to.
        timestamp: When the provider reported it (UTC).
        error_code: Provider error code on ``failed`` (Meta's ``errors[0].code``).
        error_title: Provider error title on ``failed``.
        reference: What the send carried for the provider to echo back (WhatsApp's
            ``biz_opaque_callback_data``: our outbound message id, see
            :data:`bot.channels.base.OUTBOUND_REFERENCE`), or None.
    """

    channel: str
    bot_id: str
    message_id: str
    status: str
    recipient_id: str
    timestamp: datetime
    error_code: int | None = None
    error_title: str | None = None
    reference: str | None = None
