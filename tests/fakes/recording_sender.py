"""An in-memory outbound sender that records what would have reached the user."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from bot.channels.base import Choice
from bot.errors import ChannelSendError


@dataclass(frozen=True, slots=True)
class Sent:
    """One text the bot sent: from which business number, to whom, what (and which options,
    for a question sent with buttons or a list)."""

    bot_id: str
    to: str
    text: str
    wamid: str
    choices: tuple[Choice, ...] = ()
    list_button: str = ""

    @property
    def titles(self) -> list[str]:
        """The titles of the options offered, in order."""
        return [c.title for c in self.choices]


class RecordingSender:
    """Implements ``OutboundSender``; ``fail_next`` makes the next sends raise."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._ids = itertools.count(1)
        self._failures: list[ChannelSendError] = []

    async def send_text(self, bot_id: str, to: str, text: str) -> str:
        if self._failures:
            raise self._failures.pop(0)
        wamid = f"wamid.out{next(self._ids)}"
        self.sent.append(Sent(bot_id, to, text, wamid))
        return wamid

    async def send_choices(
        self, bot_id: str, to: str, text: str, choices: Sequence[Choice], list_button: str
    ) -> str:
        if self._failures:
            raise self._failures.pop(0)
        wamid = f"wamid.out{next(self._ids)}"
        self.sent.append(Sent(bot_id, to, text, wamid, tuple(choices), list_button))
        return wamid

    def fail_next(self, error: ChannelSendError, count: int = 1) -> None:
        """Raise ``error`` on the next ``count`` sends."""
        self._failures.extend([error] * count)

    def texts_to(self, to: str) -> list[str]:
        """Every text sent to ``to``, in order."""
        return [s.text for s in self.sent if s.to == to]
