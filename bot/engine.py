"""The conversation engine: one inbound message in, a committed turn and its replies out.

For each message, under its user's lock: drop it if its provider id was seen (idempotency);
close the user's session first if its deadline passed; take the answer to a pending yes/no
confirmation; classify the text; handle opt-out / opt-in, goodbye and cancel as global
interruptions (also in the middle of a flow), or ask first when the classifier is unsure of a
close (``IntentResult.confirm``); otherwise feed the waiting flow step, start a flow the text
(or any intent it ranks) triggers, greeting in the same reply when it also greets, or answer a
greeting / anything else. A session a person has (status ``handoff``, :mod:`bot.handoff`) gets no
answer from the bot but to goodbye and opt-out; the ``handoff`` intent and a flow's
``handoff`` action move a session there, and the operators' calls (take, write, give back,
close) are :mod:`bot.desk`'s. The session change,
the inbound message and every reply are committed in one transaction, then handed to the outbox
(:mod:`bot.delivery.outbox`), which sends each user's messages in order.

The content (flows, classifier, texts) is the engine's :class:`~bot.content.Snapshot`, read
once at the start of a turn and passed down it: a hot reload replaces the snapshot while a
turn waits on the store or an action, and that turn still finishes with the one it read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot import confirmation
from bot.channels.base import InboundKind, InboundMessage, StatusUpdate
from bot.clock import Clock
from bot.confirmation import CONFIRM_NO, CONFIRM_YES
from bot.content import Snapshot
from bot.delivery.outbox import Outbox
from bot.desk import OperatorDesk
from bot.flows.slots import fold
from bot.flows.turn import Turn
from bot.handoff import USER_REQUEST
from bot.intents.result import CANCEL, GOODBYE, GREET, HANDOFF, OPT_OUT
from bot.metrics import NO_METRICS, Metrics
from bot.opt_out import opt_in_words, wants_opt_out
from bot.privacy import mask_phone
from bot.sessions.events import session_event
from bot.sessions.locks import UserLocks
from bot.sessions.model import (
    CloseReason,
    Delivery,
    Direction,
    MessageRecord,
    Session,
    SessionKey,
    Status,
)
from bot.sessions.store import DuplicateInbound, MessagingStore, StoreUnavailable

log = logging.getLogger(__name__)

CLOSES: dict[str, tuple[Status, CloseReason]] = {
    GOODBYE: (Status.COMPLETED, CloseReason.GOODBYE),
    CANCEL: (Status.CANCELLED, CloseReason.CANCEL),
}
"""How each closing intent closes a session."""

ASKED = frozenset({*CLOSES, OPT_OUT})
"""What the engine asks about when the classifier is unsure (``IntentResult.confirm``): a
close, or an opt-out beside another way to reach the user."""


class IntentLike(Protocol):
    """What the engine reads of a classification (see :class:`bot.intents.IntentResult`)."""

    @property
    def intent(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def ranked(self) -> tuple[tuple[str, float], ...]: ...
    @property
    def confirm(self) -> str | None: ...
    @property
    def bare_thanks(self) -> bool: ...


class Classifier(Protocol):
    """The engine's view of :class:`bot.intents.IntentClassifier`."""

    def classify(
        self, text: str, lang: str | None = None, *, expecting_free_text: bool = False
    ) -> IntentLike: ...

    @property
    def opt_in_messages(self) -> tuple[tuple[str, str], ...]:
        """``(language, message)``: the messages that opt a user back in, as written."""
        ...


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Replies outside flows (from ``config.yaml``'s ``behaviour`` section)."""

    welcome_on_greet: bool = True
    fallback: str = "help"


_DELIVERY_BY_STATUS = {
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "failed": Delivery.FAILED,
}


class Engine(OperatorDesk):
    """Handles inbound messages and delivery statuses for every channel.

    Attributes:
        content: The content served now; a hot reload assigns a new snapshot here (and
            nothing else), and each turn reads it once, at its start.
    """

    def __init__(
        self,
        store: MessagingStore,
        content: Snapshot,
        outbox: Outbox,
        locks: UserLocks,
        clock: Clock,
        behaviour: Behaviour | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.content = content
        self.outbox = outbox
        self.locks = locks
        self.clock = clock
        self.behaviour = behaviour or Behaviour()
        self.metrics = metrics

    async def enqueue(self, message: InboundMessage) -> bool:
        """Queue ``message`` durably in its user's inbox; call :meth:`drain` to process it.

        Returns:
            False for a duplicate (same channel and provider id): nothing to process.

        Raises:
            StoreUnavailable: The store cannot be reached; the message was not accepted.
        """
        queued = await self.store.enqueue_inbound(message)
        if not queued:
            log.info("duplicate inbound %s dropped", message.message_id)
        return queued

    async def handle(self, message: InboundMessage) -> None:
        """Queue and process ``message`` now (commit, then hand the replies to the outbox).

        A duplicate (same channel and provider id) is dropped without any effect.
        """
        if await self.enqueue(message):
            await self.drain(SessionKey(message.channel, message.bot_id, message.user_id))

    async def drain(self, key: SessionKey) -> int:
        """Process every message queued for ``key``, oldest first, under the user's lock.

        Each message is removed from the inbox in the same transaction that commits its turn,
        so a crash leaves it queued for the next :meth:`drain` (see :meth:`recover`). A message
        whose processing raises is logged and kept in the history as ``failed`` (see
        :meth:`_set_aside`), so it cannot block the user's inbox and leaves a trace.

        Returns:
            How many messages this call processed.
        """
        done = 0
        async with self.locks.lock(key):
            while (message := await self.store.next_inbound(key)) is not None:
                try:
                    records = await self._turn(key, message)
                except StoreUnavailable as exc:
                    # Transient: the message stays queued; recover() tries again later.
                    log.warning("store unavailable; %s stays queued: %s", message.message_id, exc)
                    return done
                except Exception as exc:
                    log.exception("inbound %s failed; stored as not processed", message.message_id)
                    self.store.forget_cached(key)  # the session may be half changed
                    try:
                        await self._set_aside(key, message, exc)
                    except StoreUnavailable as down:
                        wamid = message.message_id
                        log.warning("store unavailable; %s stays queued: %s", wamid, down)
                        return done
                    continue
                done += 1
                if records:
                    await self.outbox.submit(records)
        return done

    async def _set_aside(self, key: SessionKey, message: InboundMessage, error: Exception) -> None:
        """Take ``message`` out of the inbox without a turn, keeping it in the history of its
        user's active session (if any) with status ``failed`` and the error's type as
        ``error_detail``, so a message whose processing raised is never lost without a trace
        and cannot block the messages queued behind it."""
        active = await self.store.get_active(key)  # as committed: the failed turn left nothing
        record = _inbound_record(key, message, active, Delivery.FAILED)
        record.error_detail = f"not processed: {type(error).__name__}"
        await self.store.commit([], [record], consumed=message)

    async def recover(self, limit: int = 1000) -> int:
        """Drain the inboxes that crashed or stopped workers left behind. Returns how many
        messages were processed."""
        total = 0
        for key in await self.store.inbox_keys(limit):
            total += await self.drain(key)
        return total

    async def _turn(self, key: SessionKey, message: InboundMessage) -> list[MessageRecord] | None:
        content = self.content  # once: the whole turn uses this version, even across a reload
        service = content.service
        now = self.clock()
        session = await self.store.get_active(key)
        changed: list[Session] = []
        records: list[MessageRecord] = []
        if session is not None and service.is_due(session, now):
            notice = service.expire(session, now)
            changed.append(session)
            if notice is not None:
                records.append(notice)
            session = None

        ignorable = not message.kind.is_user_input and not message.kind.wants_text_only_reply
        created: str | None = None
        if session is None and not ignorable:
            session = service.new_session(key, now, message.display_name)
            session.language = message.language
            created = session.id
        if session is not None:
            if session not in changed:
                changed.append(session)
            if message.kind is not InboundKind.SYSTEM:
                service.touch(session, now)
            if message.display_name:
                session.display_name = message.display_name
        records.append(_inbound_record(key, message, session, Delivery.RECEIVED))
        if session is not None and not ignorable:
            if session.status is Status.HANDOFF:  # a person has it: the bot stays silent
                records.extend(await self._handed_off(content, session, message, records[-1], now))
            elif message.kind.wants_text_only_reply:
                text = content.locales.text(session.language, "text_only", session.data)
                records.append(service.reply(session, text, now))
            else:
                records.extend(await self._respond(content, session, message, now))
        try:
            stored = await self.store.commit(changed, records, consumed=message)
        except DuplicateInbound:
            log.info("duplicate inbound %s dropped at commit", message.message_id)
            await self.store.commit([], [], consumed=message)
            return None
        self.metrics.inbound(message.channel, message.kind.value)
        for changed_session in changed:
            if changed_session.id == created:
                self._observe("created", changed_session)
            elif changed_session.status.is_open:
                self._observe("reused", changed_session)
            if not changed_session.status.is_open:
                self._observe("closed", changed_session)
        return stored

    def _observe(self, event: str, session: Session) -> None:
        """Log a committed session event (one line) and count it."""
        session_event(log, event, session)
        if event == "created":
            self.metrics.session_opened(session.key.channel)
        elif event == "closed":
            self.metrics.session_closed(
                session.key.channel, session.status.value, session.close_reason or ""
            )

    async def _respond(
        self, content: Snapshot, session: Session, message: InboundMessage, now: datetime
    ) -> list[MessageRecord]:
        text = (message.text or "").strip()
        if session.confirming is not None or message.payload in (CONFIRM_YES, CONFIRM_NO):
            pending = session.confirming
            yes = confirmation.answer(content, session, text, message.payload)
            if yes is not None:
                if yes and pending in CLOSES:
                    status, reason = CLOSES[pending]
                    return self._close(content, session, status, reason, now)
                if yes and pending == OPT_OUT:  # "stop the sms, email me": "yes, no more"
                    return await self._opt_out(content, session, now)
                # "no", or a stale tap on an old question: go on where the user was
                return [confirmation.resume(content, session, now)]
        if content.runner.accepts_tap(session, message.payload):  # a button/list tap: no intents
            turn = await content.runner.answer(session, text, message.payload)
            return self._apply(content, session, turn, now)
        folded = fold(text)
        opt_in = opt_in_words(content.classifier.opt_in_messages)
        if folded in opt_in and await self.store.opted_out_at(session.key):
            session.language = opt_in[folded] or session.language
            return await self._opt_in(content, session, now)
        waiting = content.runner.waiting_step(session)
        expecting_free_text = waiting is not None and waiting.collect is not None
        result = content.classifier.classify(
            text, session.language, expecting_free_text=expecting_free_text
        )
        if session.language is None and result.lang:
            session.language = result.lang
        self.metrics.intent(result.intent)
        log.debug(
            "user %s: intent=%s confidence=%.2f lang=%s confirm=%s",
            mask_phone(session.key.user_id),
            result.intent,
            result.confidence,
            result.lang,
            result.confirm,
        )
        lang = session.language
        if wants_opt_out(session.key.channel, folded, result.intent):
            return await self._opt_out(content, session, now)
        if result.intent in CLOSES:
            status, reason = CLOSES[result.intent]
            return self._close(content, session, status, reason, now)
        if content.runner.is_cancel_keyword(session, text):
            return self._close(content, session, Status.CANCELLED, CloseReason.CANCEL, now)
        if result.intent == HANDOFF:  # the user asks for a person
            return [self._hand_off(content, session, USER_REQUEST, now)]
        if result.confirm in ASKED:
            return [confirmation.ask(content, session, result.confirm, now)]
        if waiting is not None:
            turn = await content.runner.answer(session, text, message.payload)
            return self._apply(content, session, turn, now)
        intent, flow = result.intent, content.runner.match_trigger(text, result.intent)
        if flow is None or intent not in flow.intents:  # a keyword, or none: a ranked intent?
            for name, _ in result.ranked:
                ranked_flow = content.runner.match_trigger("", name)
                if ranked_flow is not None:
                    intent, flow = name, ranked_flow
                    break
        if flow is not None:
            session.flow_id = flow.id
            out = self._apply(
                content, session, await content.runner.start(flow, session, intent), now
            )
            greets = result.intent == GREET or any(n == GREET for n, _ in result.ranked)
            if greets and self.behaviour.welcome_on_greet and out:
                greeting = content.locales.text(lang, "greeting", session.data)
                out[0].text = f"{greeting}\n\n{out[0].text}" if out[0].text else greeting
            return out
        if result.intent == GREET and self.behaviour.welcome_on_greet:
            return [
                content.service.reply(
                    session, content.locales.text(lang, "welcome", session.data), now
                )
            ]
        if self.behaviour.fallback == "help":  # thanks alone: "you're welcome", no help text
            key = "thanks_reply" if result.bare_thanks else "help"
            return [
                content.service.reply(session, content.locales.text(lang, key, session.data), now)
            ]
        return []

    # -- opt-out --------------------------------------------------------------------------------

    async def _opt_out(
        self, content: Snapshot, session: Session, now: datetime
    ) -> list[MessageRecord]:
        """Record the opt-out, confirm it once, and close the session silently after it.

        The record is written before the turn's commit (idempotent: a failed commit leaves
        the message queued, and its retry writes it again)."""
        await self.store.set_opt_out(session.key, now)
        text = content.locales.text(session.language, "opt_out.done", session.data)
        confirmation = content.service.reply(session, text, now)
        content.service.close(session, Status.CANCELLED, CloseReason.OPTED_OUT, now, notify=False)
        log.info("user %s opted out of messages", mask_phone(session.key.user_id))
        return [confirmation]

    async def _opt_in(
        self, content: Snapshot, session: Session, now: datetime
    ) -> list[MessageRecord]:
        """Clear the opt-out of the session's user and confirm it once."""
        await self.store.set_opt_out(session.key, None)
        log.info("user %s opted back in", mask_phone(session.key.user_id))
        text = content.locales.text(session.language, "opt_out.resumed", session.data)
        return [content.service.reply(session, text, now)]

    def _apply(
        self, content: Snapshot, session: Session, turn: Turn, now: datetime
    ) -> list[MessageRecord]:
        ran = turn.flow_id or session.flow_id
        session.flow_id, session.step_id, session.data = turn.flow_id, turn.step_id, turn.data
        session.flow_version, session.step_retries = turn.version, turn.retries
        session.language = turn.language or session.language  # a flow may fix the language
        out = [
            content.service.reply(session, r.text, now, r.step_id, r.payload) for r in turn.replies
        ]
        content.service.touch(session, now)  # the deadline of the flow the session is now in
        if turn.end_reason is not None:
            session.flow_id = ran  # a closed session keeps the flow it ran (admin, stats)
            out.extend(self._close(content, session, Status(turn.end_status), turn.end_reason, now))
        elif turn.handoff_reason is not None:  # a flow's handoff action: a person takes it
            out.append(
                self._hand_off(content, session, turn.handoff_reason, now, turn.handoff_step)
            )
        return out

    def _close(
        self, content: Snapshot, session: Session, status: Status, reason: str, now: datetime
    ) -> list[MessageRecord]:
        notice = content.service.close(session, status, reason, now)
        return [] if notice is None else [notice]

    async def handle_status(self, update: StatusUpdate) -> None:
        """Apply a delivery status to the stored outbound message; log failures with the code.

        A status whose ``reference`` is our id of a message still ``pending`` or ``sending``
        (a crash lost the send's answer) first records it ``sent`` with the status's id
        (:meth:`Outbox.settled_by_status`): it is not sent again."""
        delivery = _DELIVERY_BY_STATUS.get(update.status)
        if delivery is None:
            log.info("ignoring unknown status %r for %s", update.status, update.message_id)
            return
        if delivery is Delivery.FAILED:
            log.warning(
                "delivery to %s failed: code=%s %s",
                mask_phone(update.recipient_id),
                update.error_code,
                update.error_title,
            )
        found = await self.store.update_delivery(
            update.message_id, delivery, update.error_code, update.error_title
        )
        reference = update.reference
        if not found and reference is not None and reference.isascii() and reference.isdigit():
            # No message has this wamid yet: when ``reference`` is our id of a send whose
            # answer a crash lost, it is recorded sent now (not sent again), then updated. A
            # send whose answer was stored is found above, in one store call (the common case:
            # Meta posts three statuses per message).
            before = await self.store.settle_by_status(
                int(reference), update.bot_id, update.message_id
            )
            if before is not None:
                self.outbox.settled_by_status(before, update.message_id)
                found = await self.store.update_delivery(
                    update.message_id, delivery, update.error_code, update.error_title
                )
        if not found:
            log.debug("status for unknown message %s", update.message_id)


def _inbound_record(
    key: SessionKey, message: InboundMessage, session: Session | None, status: Delivery
) -> MessageRecord:
    """The history record of an inbound message, in ``session`` (at its waiting step) when
    there is one."""
    return MessageRecord(
        session_id=session.id if session else None,
        key=key,
        direction=Direction.IN,
        kind=message.kind.value,
        text=message.text,
        created_at=message.timestamp,
        step_id=session.step_id if session else None,
        provider_id=message.message_id,
        status=status,
    )
