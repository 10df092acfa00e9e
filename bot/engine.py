"""The conversation engine: one inbound message in, a committed turn and its replies out.

For each message, under its user's lock: drop it if its provider id was seen (idempotency);
close the user's session first if its deadline passed; classify the text; handle goodbye and
cancel as global interruptions (also in the middle of a flow); otherwise feed the waiting flow
step, start a flow the text triggers, or answer a greeting / anything else. The session change,
the inbound message and every reply are committed in one transaction, then sent in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.channels.base import InboundKind, InboundMessage, StatusUpdate
from bot.clock import Clock
from bot.flows.runner import FlowRunner, Turn
from bot.outbox import Outbox
from bot.privacy import mask_phone
from bot.sessions.locks import KeyedLock
from bot.sessions.model import (
    CloseReason,
    Delivery,
    Direction,
    MessageRecord,
    Session,
    SessionKey,
    Status,
)
from bot.sessions.service import SessionService
from bot.sessions.store import DuplicateInbound, SessionStore

log = logging.getLogger(__name__)

GOODBYE = "goodbye"
CANCEL = "cancel"
GREET = "greet"


class IntentLike(Protocol):
    """What the engine reads of a classification (see :class:`bot.intents.IntentResult`)."""

    @property
    def intent(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def lang(self) -> str | None: ...


class Classifier(Protocol):
    """The engine's view of :class:`bot.intents.IntentClassifier`."""

    def classify(
        self, text: str, lang: str | None = None, *, expecting_free_text: bool = False
    ) -> IntentLike: ...


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


class Engine:
    """Handles inbound messages and delivery statuses for every channel."""

    def __init__(
        self,
        store: SessionStore,
        service: SessionService,
        classifier: Classifier,
        runner: FlowRunner,
        outbox: Outbox,
        locks: KeyedLock,
        clock: Clock,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.classifier = classifier
        self.runner = runner
        self.outbox = outbox
        self.locks = locks
        self.clock = clock
        self.behaviour = behaviour or Behaviour()
        self.locales = service.locales

    async def handle(self, message: InboundMessage, language: str | None = None) -> None:
        """Process one inbound message completely (commit, then send the replies).

        A duplicate (same channel and provider id) is dropped without any effect.

        Args:
            language: The user's language when the channel knows it; a new session starts in
                it instead of detecting it from the text.
        """
        key = SessionKey(message.channel, message.bot_id, message.user_id)
        async with self.locks.lock(key):
            if await self.store.seen_inbound(message.channel, message.message_id):
                log.info("duplicate inbound %s dropped", message.message_id)
                return
            records = await self._turn(key, message, language)
            if records is None:
                return
            # Sending under the lock keeps one user's replies in the order they were produced.
            await self.outbox.deliver(records)

    async def _turn(
        self, key: SessionKey, message: InboundMessage, language: str | None
    ) -> list[MessageRecord] | None:
        now = self.clock()
        session = await self.store.get_active(key)
        changed: list[Session] = []
        records: list[MessageRecord] = []
        if session is not None and self.service.is_due(session, now):
            notice = self.service.close(session, Status.TIMEOUT, CloseReason.TIMEOUT, now)
            changed.append(session)
            records.extend([notice] if notice else [])
            session = None

        ignorable = not message.kind.is_user_input and not message.kind.wants_text_only_reply
        if session is None and not ignorable:
            session = self.service.new_session(key, now, message.display_name)
            session.language = language
        if session is not None:
            if session not in changed:
                changed.append(session)
            if message.kind is not InboundKind.SYSTEM:
                self.service.touch(session, now)
            if message.display_name:
                session.display_name = message.display_name
        step_id = session.step_id if session else None
        records.append(
            MessageRecord(
                session_id=session.id if session else None,
                key=key,
                direction=Direction.IN,
                kind=message.kind.value,
                text=message.text,
                created_at=message.timestamp,
                step_id=step_id,
                provider_id=message.message_id,
                status=Delivery.RECEIVED,
            )
        )
        if session is not None and not ignorable:
            if message.kind.wants_text_only_reply:
                text = self.locales.text(session.language, "text_only", session.data)
                records.append(self.service.reply(session, text, now))
            else:
                records.extend(self._respond(session, message, now))
        try:
            return await self.store.commit(changed, records)
        except DuplicateInbound:
            log.info("duplicate inbound %s dropped at commit", message.message_id)
            return None

    def _respond(
        self, session: Session, message: InboundMessage, now: datetime
    ) -> list[MessageRecord]:
        text = (message.text or "").strip()
        waiting = self.runner.waiting_step(session.flow_id, session.step_id)
        expecting_free_text = waiting is not None and waiting.collect is not None
        result = self.classifier.classify(
            text, session.language, expecting_free_text=expecting_free_text
        )
        if session.language is None and result.lang:
            session.language = result.lang
        log.debug(
            "user %s: intent=%s confidence=%.2f lang=%s",
            mask_phone(session.key.user_id),
            result.intent,
            result.confidence,
            result.lang,
        )
        lang = session.language
        if result.intent == GOODBYE:
            return self._close(session, Status.COMPLETED, CloseReason.GOODBYE, now)
        if result.intent == CANCEL:
            return self._close(session, Status.CANCELLED, CloseReason.CANCEL, now)
        if waiting is not None and session.flow_id is not None and session.step_id is not None:
            turn = self.runner.answer(session.flow_id, session.step_id, text, lang, session.data)
            return self._apply(session, turn, now)
        flow = self.runner.match_trigger(text, result.intent)
        if flow is not None:
            return self._apply(session, self.runner.start(flow, lang, session.data), now)
        if result.intent == GREET and self.behaviour.welcome_on_greet:
            return [
                self.service.reply(session, self.locales.text(lang, "welcome", session.data), now)
            ]
        if self.behaviour.fallback == "help":
            return [self.service.reply(session, self.locales.text(lang, "help", session.data), now)]
        return []

    def _apply(self, session: Session, turn: Turn, now: datetime) -> list[MessageRecord]:
        session.flow_id, session.step_id, session.data = turn.flow_id, turn.step_id, turn.data
        out = [self.service.reply(session, r.text, now, r.step_id) for r in turn.replies]
        if turn.end_reason is not None:
            out.extend(self._close(session, Status.COMPLETED, turn.end_reason, now))
        return out

    def _close(
        self, session: Session, status: Status, reason: str, now: datetime
    ) -> list[MessageRecord]:
        log.info("session %s closed: %s/%s", session.id, status.value, reason)
        notice = self.service.close(session, status, reason, now)
        return [notice] if notice else []

    async def handle_status(self, update: StatusUpdate) -> None:
        """Apply a delivery status to the stored outbound message; log failures with the code."""
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
        if not found:
            log.debug("status for unknown message %s", update.message_id)
