"""What every channel shares: the outbound sender interface and the options of a question.

The inbound message types live in :mod:`bot.messages` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from bot.messages import InboundKind as InboundKind
from bot.messages import InboundMessage as InboundMessage
from bot.messages import StatusUpdate as StatusUpdate

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
