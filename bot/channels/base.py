"""Channel-neutral message types shared by every channel and by the conversation engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


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
    """

    channel: str
    bot_id: str
    message_id: str
    status: str
    recipient_id: str
    timestamp: datetime
    error_code: int | None = None
    error_title: str | None = None


class OutboundSender(Protocol):
    """Sends text to a user on one channel."""

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        """Send ``text`` from business number ``bot_id`` to user ``to``.

        Returns:
            The provider's message id (WhatsApp ``wamid``).

        Raises:
            ChannelSendError: The provider refused the message or could not be reached.
        """
        ...
