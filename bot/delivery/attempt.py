"""One attempt to send one message: the opt-out and 24-hour window checks, the request, and
what its result becomes (``sent``; a retry scheduled with its backoff; ``failed``; skipped).

The attempt is stored ``sending`` before its request leaves (see
:mod:`bot.delivery.interrupted`); a refusal is classified (:mod:`bot.delivery.errors`) into a
retry after a backoff (:mod:`bot.delivery.retry`) or a failure; rejected credentials are
logged loudly once, not once per message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import OUTBOUND_REFERENCE, OutboundSender, choices_from_payload
from bot.clock import Clock
from bot.config import NoticeTemplate
from bot.delivery.errors import Action, Verdict, classify, reason
from bot.delivery.pacing import Pacer
from bot.delivery.repeats import RepeatGate
from bot.delivery.results import record_result, settle
from bot.delivery.retry import RetryPolicy
from bot.delivery.window import WINDOW_CHANNELS, TemplateSender, outside_window, template_args
from bot.errors import ChannelSendError
from bot.metrics import Metrics
from bot.privacy import mask_phone
from bot.sessions.model import Delivery, MessageRecord, Priority, SessionKey
from bot.sessions.store import OutboxStore, StoreUnavailable

log = logging.getLogger(__name__)

_MAX_DETAIL_CHARS = 500


class Attempts:
    """Sends one message once and stores what became of it.

    Args:
        store: Where the results are stored (and opt-outs and sessions read).
        senders: The sender of each channel (shared with the outbox).
        templates: The approved template of each notice, sent outside the 24-hour window.
        pacer: Spreads the sends of a business number; a rate limit holds it.
        retry: When a refused send is tried again, and when it gives up.
        schedule: Queues a user again at a time (the retry's), with a priority.
        in_flight: Ids of this process's attempts not yet recorded (kept up to date here).
        metrics, clock, default_language, inline_channels: As :class:`~bot.delivery.outbox.Outbox`.
    """

    def __init__(
        self,
        store: OutboxStore,
        senders: Mapping[str, OutboundSender],
        templates: Mapping[str, NoticeTemplate],
        pacer: Pacer,
        retry: RetryPolicy,
        schedule: Callable[[SessionKey, datetime, int], None],
        in_flight: set[int],
        *,
        metrics: Metrics,
        clock: Clock,
        default_language: str,
        inline_channels: frozenset[str],
    ) -> None:
        self.store = store
        self.senders = senders
        self.templates = templates
        self.pacer = pacer
        self.retry = retry
        self._schedule = schedule
        self._in_flight = in_flight
        self.metrics = metrics
        self.clock = clock
        self.default_language = default_language
        self.inline_channels = inline_channels
        self._rejected: set[str] = set()
        self._repeats = RepeatGate(clock)

    async def attempt(self, record: MessageRecord, last_inbound: datetime | None) -> bool:
        """Send ``record`` once (``last_inbound``: when the user last wrote, if known).

        Returns:
            False when it waits for a retry (nothing after it may be sent), True when it is
            settled (sent, failed or skipped).
        """
        try:
            return await self._attempt_once(record, last_inbound)
        finally:
            self._in_flight.discard(_id(record))

    async def _attempt_once(self, record: MessageRecord, last_inbound: datetime | None) -> bool:
        assert record.id is not None, "store the message before sending it"
        channel = record.key.channel
        sender = self.senders.get(channel)
        if sender is None:
            log.error("no sender for channel %s; message %s left failed", channel, record.id)
            await self._settle(record, Delivery.FAILED, None, "no sender for channel")
            self.metrics.send_error(channel, None)
            self.metrics.send_failed(channel, None)
            return True
        template: NoticeTemplate | None = None
        outside = outside_window(last_inbound, self.clock())
        proactive = record.priority is Priority.BULK or (channel in WINDOW_CHANNELS and outside)
        if proactive and await self.store.opted_out_at(record.key) is not None:
            log.info(
                "message %s to %s skipped: the user opted out",
                record.id,
                mask_phone(record.key.user_id),
            )
            await self._settle(record, Delivery.SKIPPED_OPT_OUT, None, None)
            self.metrics.send_skipped(channel, "opt_out")
            return True
        if channel in WINDOW_CHANNELS and outside:
            template = self.templates.get(record.notice or "")
            if template is None or not isinstance(sender, TemplateSender):
                log.info(
                    "message %s to %s skipped: outside the 24-hour window",
                    record.id,
                    mask_phone(record.key.user_id),
                )
                await self._settle(record, Delivery.SKIPPED_WINDOW, None, None)
                self.metrics.send_skipped(channel, "window")
                return True
        args = await template_args(self.store, template, record, self.default_language)
        if channel not in self.inline_channels:
            await self.pacer.acquire(channel, record.key.bot_id, record.priority)
        record.attempts += 1
        if channel not in self.inline_channels:
            # Stored before the request leaves: a crash from here on leaves it ``sending``,
            # which the next sender holds back for its status webhook (at least once).
            self._in_flight.add(_id(record))
            await self._record(_id(record), Delivery.SENDING, attempts=record.attempts)
        reference = OUTBOUND_REFERENCE.set(str(record.id))
        try:
            provider_id = await self._send(sender, record, template, args)
        except ChannelSendError as exc:
            return await self._refused(record, exc)
        except StoreUnavailable:
            raise
        except Exception as exc:  # a sender's bug: an attempt like any other, so it ends
            log.exception("sender of %s raised", channel)
            return await self._refused(record, ChannelSendError(None, None, repr(exc)))
        finally:
            OUTBOUND_REFERENCE.reset(reference)
        if channel in self._rejected:
            self._rejected.discard(channel)
            log.warning("%s accepts our credentials again", channel)
        self.metrics.outbound(channel, "template" if template else record.kind)
        self.metrics.outbound_delay(
            channel,
            record.priority.name.lower(),
            (self.clock() - record.created_at).total_seconds(),
        )
        record.provider_id = provider_id
        await self._settle(record, Delivery.SENT, None, None)
        return True

    async def _send(
        self,
        sender: OutboundSender,
        record: MessageRecord,
        template: NoticeTemplate | None,
        template_args: tuple[str, list[str]] | None,
    ) -> str:
        key = record.key
        if template is not None:
            assert isinstance(sender, TemplateSender) and template_args is not None
            language, values = template_args
            return await sender.send_template(
                key.bot_id, key.user_id, template.name, language, values
            )
        choices = choices_from_payload(record.payload)
        if choices is not None:  # a question with options (buttons, a list)
            return await sender.send_choices(key.bot_id, key.user_id, record.text or "", *choices)
        return await sender.send_text(key.bot_id, key.user_id, record.text or "")

    async def _refused(self, record: MessageRecord, exc: ChannelSendError) -> bool:
        """Record a refused send: schedule the retry, or settle it ``failed``."""
        channel, user = record.key.channel, mask_phone(record.key.user_id)
        verdict = (
            Verdict(Action.PERMANENT)  # e.g. a call that ended: it cannot be spoken later
            if channel in self.inline_channels
            else classify(channel, exc)
        )
        self.metrics.send_error(channel, exc.code)
        record.error_code, record.error_detail = exc.code, exc.detail[:_MAX_DETAIL_CHARS]
        if verdict.action.retried and not self.retry.gives_up(record.attempts):
            delay_s = self.retry.delay_s(record.attempts, verdict.min_delay_s)
            if verdict.action is Action.THROTTLE:
                await self.pacer.hold(channel, record.key.bot_id, delay_s)
            record.next_attempt_at = self.clock() + timedelta(seconds=delay_s)
            await self._record(
                _id(record),
                Delivery.PENDING,
                error_code=record.error_code,
                error_detail=record.error_detail,
                attempts=record.attempts,
                next_attempt_at=record.next_attempt_at,
            )
            self.metrics.send_retry(channel, exc.code)
            why = reason(exc)
            dropped = self._repeats.admit(record.key.user_id, why)
            if dropped is not None:
                log.info(
                    "send to %s refused (%s; %s): attempt %d of %d in %.1f s%s",
                    user,
                    why,
                    verdict.action.value,
                    record.attempts + 1,
                    self.retry.max_attempts,
                    delay_s,
                    f" ({dropped} more refused like it since the last line)" if dropped else "",
                )
            self._schedule(record.key, record.next_attempt_at, record.priority)
            return False
        if verdict.action is Action.CREDENTIALS:
            self._credentials_rejected(channel, exc)
        else:
            log.warning(
                "send to %s failed (%s)%s",
                user,
                reason(exc),
                f" (gave up after {record.attempts} attempts)" if verdict.action.retried else "",
            )
        await self._settle(record, Delivery.FAILED, record.error_code, record.error_detail)
        self.metrics.send_failed(channel, exc.code)
        return True

    def _credentials_rejected(self, channel: str, exc: ChannelSendError) -> None:
        """Log a rejected access token loudly, once until a send on ``channel`` works again."""
        if channel in self._rejected:
            log.debug("send on %s refused: credentials still rejected", channel)
            return
        self._rejected.add(channel)
        log.critical(
            "%s REJECTED OUR CREDENTIALS (status=%s code=%s: %s): every message on this "
            "channel is recorded failed until the access token is replaced",
            channel,
            exc.status,
            exc.code,
            exc.detail,
        )

    async def _settle(
        self,
        record: MessageRecord,
        status: Delivery,
        error_code: int | None,
        error_detail: str | None,
    ) -> None:
        """Store the final result of ``record`` (:func:`bot.delivery.results.settle`)."""
        await settle(self.store, record, status, error_code, error_detail)

    async def _record(self, message_id: int, status: Delivery, **fields: Any) -> None:
        """Store a send's state (:func:`bot.delivery.results.record_result`)."""
        await record_result(self.store, message_id, status, **fields)


def _id(record: MessageRecord) -> int:
    assert record.id is not None
    return record.id
