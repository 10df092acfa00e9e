"""Moved to :mod:`bot.delivery.outbox`; kept so existing imports of ``bot.outbox`` work."""

from bot.delivery.outbox import Outbox

__all__ = ["Outbox"]
