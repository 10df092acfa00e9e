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
import heapq
import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot.channels.base import OUTBOUND_REFERENCE, OutboundSender, choices_from_payload
from bot.clock import Clock, utc_now
from bot.config import DeliverySettings, NoticeTemplate
from bot.delivery.errors import Action, Verdict, classify, reason
from bot.delivery.pacing import Pacer
from bot.delivery.repeats import RepeatGate
from bot.delivery.retry import RetryPolicy
from bot.errors import ChannelSendError
from bot.metrics import NO_METRICS, Metrics
from bot.privacy import mask_phone
from bot.sessions.model import (
    INTERRUPTED_DETAIL,
    Delivery,
    Direction,
    MessageRecord,
    Priority,
    Session,
    SessionKey,
)
from bot.sessions.redis.locks import LockTimeout
from bot.sessions.store import OutboxStore, StoreUnavailable

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
"""WhatsApp's customer service window: free-form messages only this long after the user's
last message (Meta, "Customer service windows")."""
WINDOW_CHANNELS = frozenset({"whatsapp", "twilio_whatsapp"})
"""Channels with the 24-hour window (Twilio enforces WhatsApp's rule too, error 63016)."""
INLINE_CHANNELS = frozenset({"voice"})
"""Channels whose messages are sent inside :meth:`Outbox.submit`, never in the background."""
POLL_INTERVAL_S = 1.0
"""How often the started sender looks in the store for due messages."""
POLL_BATCH = 500
"""Users whose turn it is read per look."""
STORE_RETRY_S = 5.0
"""Wait before trying a user again after the store or the user's sender lock failed."""
RECORD_ATTEMPTS = 8
"""Tries to store a send's result while the store fails, over about 9 s (losing it would
send the message twice)."""
_USER_BATCH = 50
_MAX_DETAIL_CHARS = 500


@runtime_checkable
class TemplateSender(Protocol):
    """A sender that can send approved templates (``WhatsAppClient``)."""

    async def send_template(
        self, bot_id: str, to: str, name: str, language: str, parameters: Sequence[str] = ()
    ) -> str:
        """Send template ``name`` in ``language`` with body ``parameters``; the provider's id."""
        ...


@dataclass(slots=True)
class _Lane:
    """The users waiting to send from one business number, and the workers that serve them."""

    queue: asyncio.PriorityQueue[tuple[int, int, SessionKey]] = field(
        default_factory=asyncio.PriorityQueue
    )
    queued: dict[SessionKey, int] = field(default_factory=dict)
    workers: list[asyncio.Task[None]] = field(default_factory=list)


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
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._running: set[SessionKey] = set()
        self._again: dict[SessionKey, int] = {}
        self._timers: list[tuple[datetime, int, SessionKey, int]] = []
        self._arrivals = itertools.count()
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._rejected: set[str] = set()
        self._in_flight: set[int] = set()  # ids of this process's attempts not yet recorded
        self._repeats = RepeatGate(clock)
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
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        grace_s = self.shutdown_grace_s if grace_s is None else grace_s
        try:
            await asyncio.wait_for(self.join(), timeout=grace_s)
        except TimeoutError:
            left = sum(len(lane.queued) for lane in self._lanes.values()) + len(self._running)
            log.warning(
                "stopped sending after %.1f s; messages of %d users stay pending for the next "
                "start",
                grace_s,
                left,
            )
        workers = [w for lane in self._lanes.values() for w in lane.workers]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await self.pacer.close()
        self._lanes.clear()

    async def join(self) -> None:
        """Wait until no user is queued or being sent to (retries not yet due may remain)."""
        await self._idle.wait()

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
            now = self.clock()
            while self._timers and self._timers[0][0] <= now:
                _, _, key, priority = heapq.heappop(self._timers)
                self._enqueue(key, priority)
            wait_s = next_look - loop.time()
            if self._timers:
                wait_s = min(wait_s, (self._timers[0][0] - now).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, wait_s))
            self._wake.clear()

    async def _look(self) -> int:
        due = await self.store.pending_users(POLL_BATCH, due_by=self.clock())
        for key, priority in due:
            self._unsure.add(key)
            self._enqueue(key, priority)
        self._looked = True
        return len(due)

    def _enqueue(self, key: SessionKey, priority: int) -> None:
        """Queue ``key`` on its business number's lane (once; at its best priority)."""
        if self._task is None:
            return
        if key in self._running:
            self._again[key] = min(self._again.get(key, priority), priority)
            return
        lane = self._lane(key)
        best = lane.queued.get(key)
        if best is not None and best <= priority:
            return
        lane.queued[key] = priority
        lane.queue.put_nowait((priority, next(self._arrivals), key))
        self._idle.clear()

    def _lane(self, key: SessionKey) -> _Lane:
        name = (key.channel, key.bot_id)
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane()
            lane.workers = [
                asyncio.create_task(self._work(lane), name=f"outbox {key.channel}:{key.bot_id}")
                for _ in range(self.concurrency)
            ]
        return lane

    async def _work(self, lane: _Lane) -> None:
        """One of a lane's workers: serve the best queued user, until cancelled."""
        while True:
            priority, _, key = await lane.queue.get()
            if lane.queued.get(key) != priority:
                continue  # a stale entry: the user was queued again at a better priority
            del lane.queued[key]
            self._running.add(key)
            try:
                await self._deliver_user(key)
            except Exception:
                log.exception("sending to %s failed", mask_phone(key.user_id))
            finally:
                self._running.discard(key)
                again = self._again.pop(key, None)
                if again is not None:
                    self._enqueue(key, again)
                self._check_idle()

    def _check_idle(self) -> None:
        if (
            not self._running
            and not self._again
            and not any(lane.queued for lane in self._lanes.values())
        ):
            self._idle.set()

    def _schedule(self, key: SessionKey, at: datetime, priority: int) -> None:
        """Queue ``key`` again at ``at`` (started only; otherwise :meth:`run_once` finds it)."""
        if self._task is None:
            return
        heapq.heappush(self._timers, (at, next(self._arrivals), key, priority))
        self._wake.set()

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
                        if not await self._attempt(record, last_inbound):
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
                            self._resend(record)
                        if not await self._attempt(record, last_inbound):
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

    async def _attempt(self, record: MessageRecord, last_inbound: datetime | None) -> bool:
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
        outside = last_inbound is not None and self.clock() - last_inbound >= WINDOW
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
        template_args = await self._template_args(template, record)
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
            provider_id = await self._send(sender, record, template, template_args)
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

    async def _template_args(
        self, template: NoticeTemplate | None, record: MessageRecord
    ) -> tuple[str, list[str]] | None:
        """The language and body parameters of ``template`` for ``record`` (read before the
        attempt is recorded: a store failure here leaves the message pending, not sending)."""
        if template is None:
            return None
        session = await self.store.get(record.session_id) if record.session_id else None
        language = (session.language if session else None) or self.default_language
        return template.languages.get(language, language), template_values(template, session)

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

    async def _resume_interrupted(self) -> None:
        """Single-process stores, at the start: the sends the last run left ``sending`` are
        pending again, due when the grace for their status webhook ends; their users are
        read from the store (their later messages wait behind them)."""
        retry_at = self.clock() + timedelta(seconds=self.interrupted_grace_s)
        for record in await self.store.resume_interrupted(retry_at):
            self._waiting(record)
            self._unsure.add(record.key)
            self._schedule(record.key, retry_at, record.priority)

    async def _interrupted(self, record: MessageRecord) -> None:
        """``record`` was left ``sending`` by a dead worker (found holding the user's sender
        lock): pending again, due when the grace for its status webhook ends."""
        record.status, record.error_code = Delivery.PENDING, None
        record.error_detail = INTERRUPTED_DETAIL
        record.next_attempt_at = self.clock() + timedelta(seconds=self.interrupted_grace_s)
        await self._record(
            _id(record),
            Delivery.PENDING,
            error_detail=INTERRUPTED_DETAIL,
            attempts=record.attempts,
            next_attempt_at=record.next_attempt_at,
        )
        self._waiting(record)
        self._schedule(record.key, record.next_attempt_at, record.priority)

    def _waiting(self, record: MessageRecord) -> None:
        log.info(
            "message %s to %s: the service stopped while sending it (attempt %d); waiting "
            "%.0f s for the provider's status before sending it again",
            record.id,
            mask_phone(record.key.user_id),
            record.attempts,
            self.interrupted_grace_s,
        )

    def _resend(self, record: MessageRecord) -> None:
        """Log and count an interrupted send whose grace ended without a status."""
        log.warning(
            "message %s to %s: no status from the provider within %.0f s of the restart; "
            "sent again (the user may get it twice)",
            record.id,
            mask_phone(record.key.user_id),
            self.interrupted_grace_s,
        )
        self.metrics.send_interrupted(record.key.channel, "resent")

    def settled_by_status(self, before: MessageRecord, provider_id: str) -> None:
        """A status webhook named ``before`` (as it was stored before the status recorded it
        ``sent`` with ``provider_id``, :meth:`OutboxStore.settle_by_status`): log it when a
        dead process had left it in flight (it is not sent again), and let the user's later
        messages go now rather than at the end of the grace."""
        own = before.id in self._in_flight  # this process's answer is on its way
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
        self._enqueue(before.key, before.priority)

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
        """Store the final result of ``record`` (and mirror it on the object)."""
        record.status, record.next_attempt_at = status, None
        record.error_code, record.error_detail = error_code, error_detail
        await self._record(
            _id(record),
            status,
            provider_id=record.provider_id if status is Delivery.SENT else None,
            error_code=error_code,
            error_detail=error_detail,
            attempts=record.attempts,
        )

    async def _record(self, message_id: int, status: Delivery, **fields: Any) -> None:
        """``store.mark_outbound``, tried :data:`RECORD_ATTEMPTS` times over about 9 s while
        the store is unavailable: a sent message whose result is lost is sent again."""
        try:
            await self.store.mark_outbound(message_id, status, **fields)
            return
        except StoreUnavailable as exc:
            log.warning("storing the result of message %s failed (%s); again", message_id, exc)
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(RECORD_ATTEMPTS - 1),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_exception_type(StoreUnavailable),
            reraise=True,
        ):
            with attempt:
                await self.store.mark_outbound(message_id, status, **fields)


def template_values(template: NoticeTemplate, session: Session | None) -> list[str]:
    """The body parameters of ``template`` for ``session``: each a slot of ``session.data`` or
    ``display_name``; ``""`` when missing."""
    values = []
    for name in template.parameters:
        if session is None:
            value: object = None
        elif name == "display_name":
            value = session.display_name
        else:
            value = session.data.get(name)
        values.append("" if value is None else str(value))
    return values


def _turn_order(record: MessageRecord) -> tuple[int, int]:
    return int(record.priority), record.id or 0


def _id(record: MessageRecord) -> int:
    assert record.id is not None
    return record.id
