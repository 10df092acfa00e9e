"""Hands stored outbound messages to their channel and records the result.

Outbound messages are stored as ``pending`` in the same transaction as the session change that
produced them; :class:`Outbox` then sends them, in order, and marks each ``sent`` (with the
provider's id) or ``failed`` (with the provider's error code). Pending messages left by a
crash are sent by :meth:`Outbox.deliver_pending` at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from bot.channels.base import OutboundSender, choices_from_payload
from bot.errors import ChannelSendError
from bot.metrics import NO_METRICS, Metrics
from bot.privacy import mask_phone
from bot.sessions.model import Delivery, Direction, MessageRecord
from bot.sessions.store import SessionStore

log = logging.getLogger(__name__)


class Outbox:
    """Sends stored outbound messages through the sender of their channel."""

    def __init__(
        self,
        store: SessionStore,
        senders: Mapping[str, OutboundSender],
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.metrics = metrics

    async def deliver(self, records: Iterable[MessageRecord]) -> None:
        """Send the outbound, pending ones of ``records`` one after the other, in order.

        Never raises for a provider failure: the message is marked ``failed`` with the
        provider's error code and the failure is logged.
        """
        for record in records:
            if record.direction is not Direction.OUT or record.status is not Delivery.PENDING:
                continue
            await self._send(record)

    async def deliver_pending(self, batch: int = 500) -> int:
        """Send everything still pending in the store (after a crash). Returns how many."""
        total = 0
        while True:
            pending = await self.store.pending_outbound(batch)
            if not pending:
                return total
            for record in pending:
                await self._send(record)
            total += len(pending)

    async def _send(self, record: MessageRecord) -> None:
        assert record.id is not None, "store the message before sending it"
        sender = self.senders.get(record.key.channel)
        if sender is None:
            log.error(
                "no sender for channel %s; message %s left failed", record.key.channel, record.id
            )
            await self.store.mark_outbound(
                record.id, Delivery.FAILED, error_detail="no sender for channel"
            )
            record.status = Delivery.FAILED
            self.metrics.send_error(record.key.channel, None)
            return
        choices = choices_from_payload(record.payload)
        try:
            if choices is not None:  # a question with options (buttons, a list)
                provider_id = await sender.send_choices(
                    record.key.bot_id, record.key.user_id, record.text or "", *choices
                )
            else:
                provider_id = await sender.send_text(
                    record.key.bot_id, record.key.user_id, record.text or ""
                )
        except ChannelSendError as exc:
            log.warning(
                "send to %s failed: status=%s code=%s %s",
                mask_phone(record.key.user_id),
                exc.status,
                exc.code,
                exc.detail,
            )
            self.metrics.send_error(record.key.channel, exc.code)
            record.status = Delivery.FAILED
            record.error_code, record.error_detail = exc.code, exc.detail
            await self.store.mark_outbound(
                record.id, Delivery.FAILED, error_code=exc.code, error_detail=exc.detail[:500]
            )
            return
        self.metrics.outbound(record.key.channel, record.kind)
        record.status, record.provider_id = Delivery.SENT, provider_id
        await self.store.mark_outbound(record.id, Delivery.SENT, provider_id=provider_id)
