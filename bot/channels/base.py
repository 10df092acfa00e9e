"""Channel-neutral message types shared by every channel and by the conversation engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


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
            :data:`OUTBOUND_REFERENCE`), or None.
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


OUTBOUND_REFERENCE: ContextVar[str | None] = ContextVar("outbound_reference", default=None)
"""Our id of the outbound message being sent (decimal), set by the outbox around each send.
A sender whose provider echoes an opaque value back in its status callbacks sends it (the
WhatsApp client as ``biz_opaque_callback_data``), so a status can settle a send whose answer
a crash lost (:attr:`StatusUpdate.reference`)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered with a question (a reply button or a list row on WhatsApp).

    Attributes:
        id: Comes back as the inbound message's ``payload`` when the user taps the option.
        title: What the option shows.
        description: A second line, shown by channels that have one (WhatsApp list rows).
    """

    id: str
    title: str
    description: str | None = None


def choices_payload(choices: Sequence[Choice], list_button: str) -> dict[str, Any]:
    """The ``MessageRecord.payload`` of an outbound question with options:
    ``{"choices": [{"id", "title", "description"}...], "list_button": "Ver opciones"}``."""
    return {
        "choices": [{"id": c.id, "title": c.title, "description": c.description} for c in choices],
        "list_button": list_button,
    }


def choices_from_payload(payload: Mapping[str, Any] | None) -> tuple[list[Choice], str] | None:
    """The choices and list-button label stored by :func:`choices_payload`, or ``None``."""
    if not payload or not isinstance(payload.get("choices"), list) or not payload["choices"]:
        return None
    choices = [
        Choice(str(c["id"]), str(c["title"]), c.get("description"))
        for c in payload["choices"]
        if isinstance(c, Mapping) and "id" in c and "title" in c
    ]
    return choices, str(payload.get("list_button") or "Options")


def numbered_text(text: str, choices: Sequence[Choice]) -> str:
    """``text`` followed by the options as a numbered list, for channels without buttons
    (the flow runner accepts the number as an answer)."""
    lines = [
        f"{i}. {c.title}" + (f" ({c.description})" if c.description else "")
        for i, c in enumerate(choices, start=1)
    ]
    return "\n".join([text, "", *lines]) if text else "\n".join(lines)


class OutboundSender(Protocol):
    """Sends text, and questions with options, to a user on one channel."""

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        """Send ``text`` from business number ``bot_id`` to user ``to``.

        Returns:
            The provider's message id (WhatsApp ``wamid``).

        Raises:
            ChannelSendError: The provider refused the message or could not be reached.
        """
        ...

    async def send_choices(
        self, bot_id: str, to: str, text: str, choices: Sequence[Choice], list_button: str
    ) -> str:
        """Send ``text`` with ``choices`` the user can tap (or answer by number).

        Args:
            list_button: The label of the button that opens a list, for channels that show
                many options as a list (WhatsApp: more than 3 options).

        Returns:
            The provider's message id.

        Raises:
            ChannelSendError: As for :meth:`send_text`.
        """
        ...
