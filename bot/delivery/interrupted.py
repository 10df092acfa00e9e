"""Interrupted sends: an attempt a dead process left ``sending``, held back for its status.

Meta has no idempotency key, so an attempt is stored ``sending`` before its request leaves.
One a dead process left so is pending again, due when ``interrupted_grace_s`` ends: a status
webhook naming it in the meantime settles it ``sent`` (not sent again); without one it is sent
again. Both ways are logged and counted (``bot_outbound_interrupted_total{outcome}``). This
module keeps the attempts of this process in flight (whose statuses are not interruptions)
and says what happened to the others.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.metrics import Metrics
from bot.privacy import mask_phone
from bot.sessions.model import INTERRUPTED_DETAIL, Delivery, MessageRecord

log = logging.getLogger(__name__)


class InterruptedSends:
    """What happens to the sends a dead process left in flight.

    Args:
        metrics: Counts them by outcome (``resent``, ``settled_by_status``).
        grace_s: How long one waits for its status webhook before it is sent again.
    """

    def __init__(self, metrics: Metrics, grace_s: float) -> None:
        self.metrics = metrics
        self.grace_s = grace_s
        self.in_flight: set[int] = set()
        """Ids of this process's attempts not yet recorded (their statuses are expected)."""

    def retry_at(self, now: datetime) -> datetime:
        """When an interrupted send found at ``now`` is sent again if no status names it."""
        return now + timedelta(seconds=self.grace_s)

    def reset(self, record: MessageRecord, now: datetime) -> None:
        """Make ``record`` (found ``sending``) pending again, due at :meth:`retry_at`."""
        record.status, record.error_code = Delivery.PENDING, None
        record.error_detail = INTERRUPTED_DETAIL
        record.next_attempt_at = self.retry_at(now)

    def waiting(self, record: MessageRecord) -> None:
        """Log that ``record`` waits for its status before it is sent again."""
        log.info(
            "message %s to %s: the service stopped while sending it (attempt %d); waiting "
            "%.0f s for the provider's status before sending it again",
            record.id,
            mask_phone(record.key.user_id),
            record.attempts,
            self.grace_s,
        )

    def resent(self, record: MessageRecord) -> None:
        """Log and count an interrupted send whose grace ended without a status."""
        log.warning(
            "message %s to %s: no status from the provider within %.0f s of the restart; "
            "sent again (the user may get it twice)",
            record.id,
            mask_phone(record.key.user_id),
            self.grace_s,
        )
        self.metrics.send_interrupted(record.key.channel, "resent")

    def settled(self, before: MessageRecord, provider_id: str) -> None:
        """A status webhook named ``before`` (as stored before the status recorded it
        ``sent``): log and count it when a dead process had left it in flight."""
        own = before.id in self.in_flight  # this process's answer is on its way
        if not own and (
            before.status is Delivery.SENDING or before.error_detail == INTERRUPTED_DETAIL
        ):
            log.info(
                "message %s to %s: the provider's status names it (%s); recorded sent, not "
                "sent again",
                before.id,
                mask_phone(before.key.user_id),
                provider_id,
            )
            self.metrics.send_interrupted(before.key.channel, "settled_by_status")
