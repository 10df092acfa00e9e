"""A person takes the conversation: the engine's side of a handoff (issue 19).

A session moves to status ``handoff`` when the user asks for a person (the built-in
``handoff`` intent, reason :data:`USER_REQUEST`), when a flow step's ``handoff`` action runs
(its ``reason``), or when an agent takes an active session (:mod:`bot.desk`, reason
:data:`AGENT_REASON`). The user gets the localized ``handoff.notice`` once, stored and sent
with the change in one commit.

While a person has it, the bot stays silent: every inbound message is stored in the session's
history (the agents read it through the admin API) and nothing else runs (no flow, no
confirmation, no help text) but what the user still expects of any chat:

- goodbye closes the session with the usual ``close.goodbye`` notice;
- opt-out works as everywhere (recorded, confirmed once, session closed silently);
- cancel does **not** close: it is a message for the person, stored with the flag
  ``{"flag": "cancel"}`` in its ``payload`` (the admin API shows it as ``flag``).

The inactivity deadline is ``HANDOFF_TIMEOUT_MINUTES`` from the user's last message; the one
sweeper closes a session past it (reason ``handoff_timeout``, notice ``close.handoff_timeout``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.content import Snapshot
from bot.flows.slots import fold
from bot.intents.result import CANCEL, GOODBYE
from bot.messages import InboundMessage
from bot.metrics import Metrics
from bot.opt_out import wants_opt_out
from bot.privacy import mask_phone
from bot.sessions.model import CloseReason, MessageRecord, Session, Status

log = logging.getLogger(__name__)

USER_REQUEST = "user_request"
"""Handoff reason when the user asked for a person (the ``handoff`` intent)."""
AGENT_REASON = "agent"
"""Handoff reason when an agent took an active session (default of the take call)."""
CANCEL_FLAG = {"flag": "cancel"}
"""``payload`` of an inbound message that asked to cancel while a person had the session."""



class HandoffTurns:
    """The engine's handoff behaviour, mixed into :class:`bot.engine.Engine` (which provides
    ``metrics``, ``_opt_out`` and ``_close``)."""

    metrics: Metrics

    async def _opt_out(
        self, content: Snapshot, session: Session, now: datetime
    ) -> list[MessageRecord]:
        raise NotImplementedError  # the engine's

    def _close(
        self, content: Snapshot, session: Session, status: Status, reason: str, now: datetime
    ) -> list[MessageRecord]:
        raise NotImplementedError  # the engine's

    def _hand_off(
        self,
        content: Snapshot,
        session: Session,
        reason: str,
        now: datetime,
        step_id: str | None = None,
        agent: str | None = None,
    ) -> MessageRecord:
        """Move the active ``session`` to a person; return the notice to commit with it.

        Args:
            reason: Recorded with the handoff (:data:`USER_REQUEST`, a flow action's reason,
                :data:`AGENT_REASON`).
            step_id: The step it came from (default: the step the session waits at).
            agent: The agent who took it, when an agent did.
        """
        notice = content.service.hand_off(session, reason, now, step_id=step_id, agent=agent)
        handoff = session.handoff
        assert handoff is not None
        self.metrics.handed_off(session.key.channel, reason, handoff.flow_id, handoff.step_id)
        log.info(
            "user %s handed to a person: reason=%s flow=%s step=%s",
            mask_phone(session.key.user_id),
            reason,
            handoff.flow_id,
            handoff.step_id,
        )
        return notice

    async def _handed_off(
        self,
        content: Snapshot,
        session: Session,
        message: InboundMessage,
        inbound: MessageRecord,
        now: datetime,
    ) -> list[MessageRecord]:
        """What an inbound ``message`` does while a person has ``session`` (its history
        record ``inbound`` is already in the turn): goodbye and opt-out act, cancel is
        flagged for the person, anything else only waits for them.

        Returns:
            The bot's messages (the goodbye notice, the opt-out confirmation), usually none.
        """
        text = (message.text or "").strip()
        if not text:
            return []
        result = content.classifier.classify(text, session.language)
        if session.language is None and result.lang:
            session.language = result.lang
        self.metrics.intent(result.intent)
        folded = fold(text)
        if wants_opt_out(session.key.channel, folded, result.intent):
            return await self._opt_out(content, session, now)
        if result.intent == GOODBYE:
            return self._close(content, session, Status.COMPLETED, CloseReason.GOODBYE, now)
        if result.intent == CANCEL or folded == CANCEL:
            inbound.payload = dict(CANCEL_FLAG)
            log.info(
                "user %s asked to cancel; passed to the agent", mask_phone(session.key.user_id)
            )
        return []
