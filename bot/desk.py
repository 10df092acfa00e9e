"""The operators' desk: what a person does to a conversation through the admin API.

Each call re-reads the session under its user's lock (the same lock an engine turn and the
sweeper take; on Redis it is shared by every worker), decides, and commits the change with its
messages in one transaction before handing them to the outbox. So two agents taking one
session at once, on any workers, serialize on that lock: the first one holds it, the second
finds it held (:class:`HeldByAnother`, HTTP 409). Who holds it is stored with the session
(``Session.handoff.agent``; on Redis in the user's session hash, written atomically with the
status).

- :meth:`OperatorDesk.close_session`: close with or without the localized notice.
- :meth:`OperatorDesk.take`: an agent takes a session: an active one moves to ``handoff``
  (the user gets ``handoff.notice``), a waiting one is assigned.
- :meth:`OperatorDesk.write`: an agent's message to the user, stored as a pending outbound
  message (``payload`` ``{"agent": name}``) behind the user's pending ones, sent by the outbox
  (paced, retried, statuses stored).
- :meth:`OperatorDesk.give_back`: back to the bot: the flow resumes at the stored step (its
  question asked again), or the bot greets again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from bot.clock import Clock
from bot.content import Snapshot
from bot.delivery.outbox import Outbox
from bot.errors import BotError
from bot.flows.turn import Turn
from bot.handoff import HandoffTurns
from bot.metrics import Metrics
from bot.privacy import mask_phone
from bot.sessions.locks import UserLocks
from bot.sessions.model import Handoff, MessageRecord, Session, Status
from bot.sessions.store import MessagingStore

log = logging.getLogger(__name__)

RETURNED_KEY = "handoff.returned"
"""Locale key of the line that tells the user the bot answers again."""


class SessionAlreadyClosed(BotError):
    """An operator asked to change a session that is closed.

    Attributes:
        session: The session as stored (its status and close reason tell why).
    """

    def __init__(self, session: Session) -> None:
        super().__init__(f"session {session.id} is already {session.status.value}")
        self.session = session


class NotHandedOff(BotError):
    """An agent wrote to, or gave back, a session that is not in handoff."""

    def __init__(self, session: Session) -> None:
        super().__init__(f"session {session.id} is {session.status.value}, not in handoff")
        self.session = session


class HeldByAnother(BotError):
    """Another agent holds the session.

    Attributes:
        agent: Who holds it.
    """

    def __init__(self, session: Session, agent: str) -> None:
        super().__init__(f"session {session.id} is held by another agent")
        self.session = session
        self.agent = agent


class OperatorDesk(HandoffTurns):
    """Operators' calls on sessions, mixed into :class:`bot.engine.Engine` (which provides
    the attributes below, ``_observe`` and ``_apply``; ``_hand_off`` is
    :class:`~bot.handoff.HandoffTurns`')."""

    store: MessagingStore
    content: Snapshot
    outbox: Outbox
    locks: UserLocks
    clock: Clock
    metrics: Metrics

    def _observe(self, event: str, session: Session) -> None:
        raise NotImplementedError  # the engine's

    def _apply(
        self, content: Snapshot, session: Session, turn: Turn, now: datetime
    ) -> list[MessageRecord]:
        raise NotImplementedError  # the engine's

    @asynccontextmanager
    async def _locked(self, session_id: str) -> AsyncIterator[Session | None]:
        """The session ``session_id`` re-read under its user's lock (``None``: no such
        session). The first read only finds the user whose lock to take."""
        found = await self.store.get(session_id)
        if found is None:
            yield None
            return
        async with self.locks.lock(found.key):
            yield await self.store.get(session_id)

    async def close_session(
        self, session_id: str, status: Status, reason: str, *, notify: bool = True
    ) -> Session | None:
        """Close a session (active or in handoff) on an operator's request, under its user's
        lock.

        The notice is the same localized one a user-caused close sends
        (:meth:`SessionService.close`), stored and sent unless ``notify`` is False.

        Args:
            session_id: The session to close.
            status: ``COMPLETED`` or ``CANCELLED`` (any final status is accepted).
            reason: The close reason recorded (and used to pick the notice text).
            notify: Send the close notice to the user.

        Returns:
            The closed session, or ``None`` when no session has this id.

        Raises:
            SessionAlreadyClosed: The session is closed.
        """
        async with self._locked(session_id) as session:
            if session is None:
                return None
            if not session.status.is_open:
                raise SessionAlreadyClosed(session)
            if notify and await self.store.opted_out_at(session.key) is not None:
                notify = False  # a notice nobody asked for: never to a user who opted out
            service = self.content.service  # read once, with no await before its use
            notice = service.close(session, status, reason, self.clock(), notify=notify)
            records = await self.store.commit([session], [notice] if notice else [])
            self._observe("closed", session)
            await self.outbox.submit(records)
        return session

    async def take(self, session_id: str, agent: str, reason: str) -> Session | None:
        """``agent`` takes the session: an active one moves to ``handoff`` with ``reason``
        (the user gets ``handoff.notice``); one in handoff that nobody holds is assigned to
        ``agent``. Taking a session one already holds changes nothing.

        Returns:
            The session as committed, or ``None`` when no session has this id.

        Raises:
            SessionAlreadyClosed: The session is closed.
            HeldByAnother: Another agent holds it.
        """
        async with self._locked(session_id) as session:
            if session is None:
                return None
            if not session.status.is_open:
                raise SessionAlreadyClosed(session)
            now = self.clock()
            records: list[MessageRecord] = []
            if session.status is Status.ACTIVE:
                content = self.content  # read once
                records.append(self._hand_off(content, session, reason, now, agent=agent))
            else:
                handoff = session.handoff
                assert handoff is not None
                if handoff.agent is not None and handoff.agent != agent:
                    raise HeldByAnother(session, handoff.agent)
                if handoff.agent == agent:
                    return session
                handoff.agent, handoff.taken_at = agent, now
            stored = await self.store.commit([session], records)
            log.info("session %s taken by an agent", session.id)
            await self.outbox.submit(stored)
        return session

    async def write(self, session_id: str, agent: str, text: str) -> MessageRecord | None:
        """Store ``agent``'s message ``text`` to the user of a session in handoff and have it
        sent (after the user's pending messages). An agent who writes to a session nobody
        holds takes it.

        Returns:
            The stored message (its ``id`` set), or ``None`` when no session has this id.

        Raises:
            SessionAlreadyClosed: The session is closed.
            NotHandedOff: It is active with the bot (take it first).
            HeldByAnother: Another agent holds it.
        """
        async with self._locked(session_id) as session:
            if session is None:
                return None
            handoff = self._held(session, agent)
            now = self.clock()
            if handoff.agent is None:
                handoff.agent, handoff.taken_at = agent, now
            record = self.content.service.reply(session, text, now)
            record.payload = {"agent": agent}
            if handoff.first_reply_at is None:
                handoff.first_reply_at = now
                waited_s = (now - handoff.since).total_seconds()
                self.metrics.agent_first_reply(session.key.channel, waited_s)
            (stored,) = await self.store.commit([session], [record])
            log.info("agent message %s to %s", stored.id, mask_phone(session.key.user_id))
            await self.outbox.submit([stored])
        return stored

    async def give_back(self, session_id: str, agent: str) -> Session | None:
        """The bot answers the session's user again: the flow resumes at its stored step (the
        question asked again) after the ``handoff.returned`` line, or the bot greets again
        (``welcome``) when there is no flow to resume.

        Returns:
            The session as committed, or ``None`` when no session has this id.

        Raises:
            SessionAlreadyClosed: The session is closed.
            NotHandedOff: It is not in handoff.
            HeldByAnother: Another agent holds it.
        """
        async with self._locked(session_id) as session:
            if session is None:
                return None
            self._held(session, agent)
            content, now = self.content, self.clock()
            content.service.give_back(session, now)
            turn = await content.runner.resume(session)
            records = self._apply(content, session, turn, now) if turn.flow_id else []
            lang, data = session.language, session.data
            back = content.locales.text(lang, RETURNED_KEY, data)
            if not records:  # no flow to resume: greet again
                welcome = content.locales.text(lang, "welcome", data)
                records = [content.service.reply(session, welcome, now)]
            records[0].text = f"{back}\n\n{records[0].text}" if records[0].text else back
            stored = await self.store.commit([session], records)
            if not session.status.is_open:
                self._observe("closed", session)  # the resumed flow ended
            log.info("session %s given back to the bot", session.id)
            await self.outbox.submit(stored)
        return session

    @staticmethod
    def _held(session: Session, agent: str) -> Handoff:
        """The handoff of ``session``, when ``agent`` may act on it.

        Raises:
            SessionAlreadyClosed, NotHandedOff, HeldByAnother: They may not.
        """
        if not session.status.is_open:
            raise SessionAlreadyClosed(session)
        if session.status is not Status.HANDOFF or session.handoff is None:
            raise NotHandedOff(session)
        holder = session.handoff.agent
        if holder is not None and holder != agent:
            raise HeldByAnother(session, holder)
        return session.handoff
