"""An in-memory outbound sender that records what would have reached the user."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bot.errors import ChannelSendError


@dataclass(frozen=True, slots=True)
class Sent:
    """One text the bot sent: from which business number, to whom, what."""

    bot_id: str
    to: str
    text: str
    wamid: str


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

    def fail_next(self, error: ChannelSendError, count: int = 1) -> None:
        """Raise ``error`` on the next ``count`` sends."""
        self._failures.extend([error] * count)

    def texts_to(self, to: str) -> list[str]:
        """Every text sent to ``to``, in order."""
        return [s.text for s in self.sent if s.to == to]
