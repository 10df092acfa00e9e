"""The durable outbox: every outbound message is stored, then sent by the sender task.

Replies, reprompts, close notices and warnings are stored as ``pending`` in the same
transaction as the session change that produced them (``ConversationStore.commit``); the engine and
the sweeper then hand them to :meth:`Outbox.submit`. A crash between the two loses nothing:
the sender finds what is pending when it starts. Each message ends ``sent`` (with the
provider's id, which delivery statuses later update), ``failed`` (with the provider's error
code), ``skipped_window`` or ``skipped_opt_out``.

Rules, whatever the load:

- **Order.** One user's messages leave in the order they were stored, also across retries: a
  message waits while an older one of the same user is pending (one sender per user at a time,
  ``OutboxStore.outbox_locks``, shared by every worker on Redis).
- **Pacing.** Sends from one business number are spread evenly at ``WHATSAPP_MAX_MPS``
  (:mod:`bot.delivery.pacing`); replies to users who just wrote take the next free slot before
  bulk notices from the sweeper.
- **Errors** (:mod:`bot.delivery.errors`): rate limits, 5xx and network errors are tried again
  after a backoff with jitter (:mod:`bot.delivery.retry`), a bounded number of times; the time
  of the next attempt is stored with the message, so retries survive restarts. A rate limit
  of the number also pauses the number's other sends; the pair rate limit (131056) delays
  that user only. Permanent errors are recorded at once. Rejected credentials (Meta 190) are
  logged loudly once, not once per message. Each retry is logged with its reason
  (:func:`bot.delivery.errors.reason`: ``connection refused: ...``, ``timeout after 10 s``,
  ``HTTP 503 code 2: ...``); the same reason for the same user is logged once, then at most
  once a minute with the count of those not logged (:mod:`bot.delivery.repeats`).
- **A crash during a send: at least once.** Meta has no idempotency key, so an attempt is
  stored (``sending``) before its request leaves, carrying our message id (WhatsApp's
  ``biz_opaque_callback_data``, echoed in its status webhooks). One a dead process left
  ``sending`` is pending again after the restart but waits ``DELIVERY_INTERRUPTED_GRACE_SECONDS``
  (``interrupted_grace_s``; the user's later messages wait behind it) for a status webhook
  naming it: one that comes settles it ``sent`` with the status's wamid, not sent again
  (:meth:`Outbox.settled_by_status`); without one it is sent again when the grace ends (a
  reply is lost only if the provider lost it; a duplicate only if its status was lost or
  late). Twilio echoes nothing back: its interrupted sends are sent again after the grace.
  Both ways are logged and counted (``bot_outbound_interrupted_total{outcome}``).
- **The 24-hour window.** WhatsApp accepts free-form messages only within 24 hours of the
  user's last message. One outside it is sent as the approved template configured for its
  notice, or recorded ``skipped_window`` without trying.
- **Opt-out.** A proactive message (a bulk notice from the sweeper: warnings and timeout
  notices; anything that would need a template) to a user who opted out of messages
  (``OutboxStore.opted_out_at``) is recorded ``skipped_opt_out`` without trying. Replies to
  a message the user just wrote are sent.

Two ways to run. Started (:meth:`Outbox.start`, as ``bot serve`` does), a sender task sends in
the background: :meth:`Outbox.submit` only queues the users whose messages wait; the task also
looks for due messages every :data:`POLL_INTERVAL_S` (retries, and what other workers left).
On a single-process store (SQLite) the started sender sends the records it was handed without
reading them back, except for a user the store may hold an older pending message of (a retry
waits, a store failure, or the periodic look found the user): those are read from the store,
so the order rules above hold either way.
:meth:`Outbox.stop` keeps sending for a grace period and leaves the rest pending for the next
start. Not started (``bot chat``, ``bot test``, unit tests), :meth:`Outbox.submit` sends before
it returns and :meth:`Outbox.run_once` sends what is due. Channels in ``inline_channels``
(``voice``: a call's reply must be in the answer to its request) always send in ``submit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import OutboundSender
from bot.clock import Clock, utc_now
from bot.config import DeliverySettings, NoticeTemplate
from bot.delivery.attempt import Attempts
from bot.delivery.interrupted import InterruptedSends
from bot.delivery.lanes import SendQueue
from bot.delivery.pacing import Pacer
from bot.delivery.results import RECORD_ATTEMPTS, record_result
from bot.delivery.retry import RetryPolicy
from bot.delivery.window import WINDOW, WINDOW_CHANNELS, TemplateSender, template_values
from bot.metrics import NO_METRICS, Metrics
from bot.privacy import mask_phone
from bot.sessions.locks import LockTimeout
from bot.sessions.model import (
    INTERRUPTED_DETAIL,
    Delivery,
    Direction,
    MessageRecord,
    Priority,
    SessionKey,
)
from bot.sessions.store import OutboxStore, StoreUnavailable
from bot.tasks import CANCEL_WAIT_S, stop_tasks

__all__ = [
    "INLINE_CHANNELS",
    "POLL_BATCH",
    "POLL_INTERVAL_S",
    "RECORD_ATTEMPTS",
    "STORE_RETRY_S",
    "WINDOW",
    "WINDOW_CHANNELS",
    "Outbox",
    "TemplateSender",
    "template_values",
]

log = logging.getLogger(__name__)

INLINE_CHANNELS = frozenset({"voice"})
"""Channels whose messages are sent inside :meth:`Outbox.submit`, never in the background."""
POLL_INTERVAL_S = 1.0
"""How often the started sender looks in the store for due messages."""
POLL_BATCH = 500
"""Users whose turn it is read per look."""
STORE_RETRY_S = 5.0
"""Wait before trying a user again after the store or the user's sender lock failed."""
_USER_BATCH = 50


class Outbox:
    """Sends stored outbound messages through the sender of their channel.

    Args:
        store: Where the messages are; also provides the sender locks and pacing slots.
        senders: The sender of each channel.
        metrics: Counts sends, retries, failures and skips, and the delay of each message.
        clock: Current time (injected; the 24-hour window and retry times use it).
        settings: Pacing, retries and templates (``DeliverySettings``).
        default_language: The template language of a session whose language is not known.
        inline_channels: Channels always sent inside :meth:`submit`.
    """

    def __init__(
        self,
        store: OutboxStore,
        senders: Mapping[str, OutboundSender],
        metrics: Metrics = NO_METRICS,
        *,
        clock: Clock = utc_now,
        settings: DeliverySettings | None = None,
        default_language: str = "es",
        inline_channels: frozenset[str] = INLINE_CHANNELS,
    ) -> None:
        settings = settings or DeliverySettings()
        self.store = store
        self.senders = dict(senders)
        self.metrics = metrics
        self.clock = clock
        self.retry = RetryPolicy(settings.max_attempts, settings.retry_base_s, settings.retry_max_s)
        self.templates: dict[str, NoticeTemplate] = dict(settings.templates)
        self.concurrency = settings.concurrency
        self.shutdown_grace_s = settings.shutdown_grace_s
        self.interrupted_grace_s = settings.interrupted_grace_s
        self.default_language = default_language
        self.inline_channels = inline_channels
        self.pacer = Pacer(store.send_slots(), {"whatsapp": settings.max_mps})
        self._locks = store.outbox_locks()
        self._queue = SendQueue(
            self._deliver_user, self.concurrency, accepting=lambda: self._task is not None
        )
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._interrupted_sends = InterruptedSends(metrics, self.interrupted_grace_s)
        self._attempts = Attempts(
            store,
            self.senders,
            self.templates,
            self.pacer,
            self.retry,
            self._schedule,
            self._interrupted_sends.in_flight,
            metrics=metrics,
            clock=clock,
            default_language=default_language,
            inline_channels=inline_channels,
        )
        # Single-process stores: what submit() was handed, per user, sent without reading it
        # back while the store cannot hold an older pending message of that user unknown here
        # (not before the first look at what a previous run left; not after a retry, a store
        # failure or a look that found the user: those users are read from the store).
        self._memory = store.single_process
        self._fresh: dict[SessionKey, list[MessageRecord]] = {}
        self._unsure: set[SessionKey] = set()
        self._looked = False

    # --- handing messages over -----------------------------------------------------------

    @property
    def started(self) -> bool:
        """True while the sender task runs (:meth:`start` until :meth:`stop`)."""
        return self._task is not None

    async def submit(self, records: Iterable[MessageRecord]) -> None:
        """Have the outbound, pending ones of ``records`` (just committed) sent.

        Started: queues their users and returns (inline channels excepted). Not started:
        sends them now, each user's in order. Stopped: leaves them pending for the next
        start. Never raises for a provider failure (it is recorded on the message).
        """
        users: dict[SessionKey, int] = {}
        remember = self._memory and self.started
        for record in records:
            if record.direction is Direction.OUT and record.status is Delivery.PENDING:
                users[record.key] = min(users.get(record.key, record.priority), record.priority)
                if remember and record.key.channel not in self.inline_channels:
                    self._fresh.setdefault(record.key, []).append(record)
        for key, priority in users.items():
            if key.channel in self.inline_channels or not (self.started or self._stopped):
                await self._deliver_user(key)
            elif self.started:
                self._enqueue(key, priority)

    async def run_once(self) -> int:
        """Send every message that is due now (by the injected clock), each user's in order,
        up to ``concurrency`` users at once. Returns how many were sent, failed or skipped."""
        handled = 0
        slots = asyncio.Semaphore(self.concurrency)

        async def one(key: SessionKey) -> int:
            async with slots:
                return await self._deliver_user(key)

        while True:
            due = await self.store.pending_outbound(POLL_BATCH, due_by=self.clock())
            users = list(dict.fromkeys(m.key for m in sorted(due, key=_turn_order)))
            if not users:
                return handled
            done = sum(await asyncio.gather(*(one(key) for key in users)))
            handled += done
            if done == 0:
                return handled

    async def deliver_pending(self) -> int:
        """Send what a crash left pending (and is due now). Returns how many were handled."""
        return await self.run_once()

    # --- the sender task -----------------------------------------------------------------

    async def start(self) -> None:
        """Start the sender task; it first sends what the last run left pending.

        Raises:
            RuntimeError: Already started, or stopped (an outbox starts once).
        """
        if self._task is not None or self._stopped:
            raise RuntimeError("the outbox starts once")
        self._task = asyncio.create_task(self._loop(), name="outbox")

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop sending: what is queued is sent for up to ``grace_s`` seconds (default: the
        configured ``shutdown_grace_s``); the rest stays pending for the next start.

        A send cancelled in flight stays ``sending``: the next start holds it back for its
        status webhook, as after a crash (then sends it again if none comes).
        """
        task, self._task = self._task, None
        self._stopped = True
        if task is None:
            return
        await stop_tasks([task], CANCEL_WAIT_S)
        grace_s = self.shutdown_grace_s if grace_s is None else grace_s
        try:
            await asyncio.wait_for(self.join(), timeout=grace_s)
        except TimeoutError:
            left = self._queue.waiting()
            log.warning(
                "stopped sending after %.1f s; messages of %d users stay pending for the next "
                "start",
                grace_s,
                left,
            )
        await self._queue.close()
        await self.pacer.close()

    async def join(self) -> None:
        """Wait until no user is queued or being sent to (retries not yet due may remain)."""
        await self._queue.join()

    async def _loop(self) -> None:
        """Look for due messages now and every :data:`POLL_INTERVAL_S`; release retries when
        their time comes. Runs until cancelled."""
        loop = asyncio.get_running_loop()
        next_look = loop.time()
        first = True
        settled = not self._memory
        while True:
            if loop.time() >= next_look:
                try:
                    if not settled:
                        await self._resume_interrupted()
                        settled = True
                    found = await self._look()
                    if first and found:
                        log.info("sending %d+ outbound messages left pending", found)
                    first = False
                except StoreUnavailable as exc:
                    log.warning("cannot look for due outbound messages: %s", exc)
                except Exception:
                    log.exception("looking for due outbound messages failed")
                next_look = loop.time() + POLL_INTERVAL_S
            next_timer_s = self._queue.release_due(self.clock())
            wait_s = next_look - loop.time()
            if next_timer_s is not None:
                wait_s = min(wait_s, next_timer_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.wake.wait(), timeout=max(0.0, wait_s))
            self._queue.wake.clear()

    async def _look(self) -> int:
        due = await self.store.pending_users(POLL_BATCH, due_by=self.clock())
        for key, priority in due:
            self._unsure.add(key)
            self._enqueue(key, priority)
        self._looked = True
        return len(due)

    def _enqueue(self, key: SessionKey, priority: int) -> None:
        """Queue ``key`` on its business number's lane (started only)."""
        self._queue.enqueue(key, priority)

    def _schedule(self, key: SessionKey, at: datetime, priority: int) -> None:
        """Queue ``key`` again at ``at`` (started only; otherwise :meth:`run_once` finds it)."""
        self._queue.schedule(key, at, priority)

    # --- sending ---------------------------------------------------------------------------

    async def _deliver_user(self, key: SessionKey) -> int:
        """Send ``key``'s pending messages, oldest first, until one has to wait.

        Returns:
            How many messages were handled (sent, failed or skipped).
        """
        handled = last_id = 0
        complete = False
        try:
            async with self._locks.lock(key):
                fresh = self._fresh.pop(key, None)
                last_inbound = await self.store.last_inbound_at(key)
                if fresh is not None and self._looked and key not in self._unsure:
                    for record in fresh:  # in commit order: ids ascend
                        if not await self._attempts.attempt(record, last_inbound):
                            return handled  # the rest waits in the store, behind the retry
                        handled += 1
                    complete = True
                    return handled
                while True:
                    batch = await self.store.pending_for(key, _USER_BATCH)
                    for record in batch:
                        if record.status is Delivery.SENDING:  # its sender died mid-attempt
                            await self._interrupted(record)
                            return handled  # it waits for its status; the rest behind it
                        at = record.next_attempt_at
                        if at is not None and at > self.clock():
                            self._schedule(key, at, record.priority)
                            return handled
                        if record.error_detail == INTERRUPTED_DETAIL:
                            self._interrupted_sends.resent(record)
                        if not await self._attempts.attempt(record, last_inbound):
                            return handled
                        handled += 1
                        last_id = _id(record)
                    if len(batch) < _USER_BATCH:
                        # Whatever is stored later is submitted later: its own turn.
                        complete = True
                        return handled
        except (StoreUnavailable, LockTimeout) as exc:
            log.warning(
                "sending to %s postponed %.0f s: %s", mask_phone(key.user_id), STORE_RETRY_S, exc
            )
            self._schedule(key, self.clock() + timedelta(seconds=STORE_RETRY_S), Priority.REPLY)
        finally:
            self._after_delivery(key, complete, last_id)
        return handled

    def _after_delivery(self, key: SessionKey, complete: bool, last_id: int) -> None:
        """Whether ``key``'s next messages may be sent from memory: only after a delivery
        that left nothing of the user pending. ``last_id``: the last message a read of the
        store sent; messages handed over meanwhile and already sent by it are dropped."""
        if not self._memory:
            return
        if complete:
            self._unsure.discard(key)
        else:
            self._unsure.add(key)
        fresh = self._fresh.get(key)
        if fresh and last_id:
            left = [r for r in fresh if _id(r) > last_id]
            if left:
                self._fresh[key] = left
            else:
                del self._fresh[key]

    async def _record(self, message_id: int, status: Delivery, **fields: Any) -> None:
        """Store a send's state (:func:`bot.delivery.results.record_result`)."""
        await record_result(self.store, message_id, status, **fields)

    async def _resume_interrupted(self) -> None:
        """Single-process stores, at the start: the sends the last run left ``sending`` are
        pending again, due when the grace for their status webhook ends; their users are
        read from the store (their later messages wait behind them)."""
        retry_at = self._interrupted_sends.retry_at(self.clock())
        for record in await self.store.resume_interrupted(retry_at):
            self._interrupted_sends.waiting(record)
            self._unsure.add(record.key)
            self._schedule(record.key, retry_at, record.priority)

    async def _interrupted(self, record: MessageRecord) -> None:
        """``record`` was left ``sending`` by a dead worker (found holding the user's sender
        lock): pending again, due when the grace for its status webhook ends."""
        self._interrupted_sends.reset(record, self.clock())
        assert record.next_attempt_at is not None
        await self._record(
            _id(record),
            Delivery.PENDING,
            error_detail=INTERRUPTED_DETAIL,
            attempts=record.attempts,
            next_attempt_at=record.next_attempt_at,
        )
        self._interrupted_sends.waiting(record)
        self._schedule(record.key, record.next_attempt_at, record.priority)

    def settled_by_status(self, before: MessageRecord, provider_id: str) -> None:
        """A status webhook named ``before`` (as it was stored before the status recorded it
        ``sent`` with ``provider_id``, :meth:`OutboxStore.settle_by_status`): log it when a
        dead process had left it in flight (it is not sent again), and let the user's later
        messages go now rather than at the end of the grace."""
        self._interrupted_sends.settled(before, provider_id)
        self._enqueue(before.key, before.priority)


def _turn_order(record: MessageRecord) -> tuple[int, int]:
    return int(record.priority), record.id or 0


def _id(record: MessageRecord) -> int:
    assert record.id is not None
    return record.id
