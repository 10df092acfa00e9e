"""The yes/no question asked before an unsure close, and its answer.

When the classifier is not sure enough that a message closes the conversation
(``IntentResult.confirm``: goodbye, cancel or opt_out), the engine asks instead of closing: a
localized question (``confirm.goodbye``, ``confirm.cancel``, ``confirm.opt_out``) with Sí/No
reply buttons. The pending question is kept in the session (``Session.confirming``) until the
user answers: "yes" closes with the usual notice (an opt-out: records it and confirms it
once), "no" goes on where the user was, anything else drops the question and is processed as
usual.
"""

from __future__ import annotations

from datetime import datetime

from bot.channels.base import Choice, choices_payload
from bot.content import Snapshot
from bot.flows.slots import parse_yes_no
from bot.flows.turn import Reply
from bot.sessions.model import MessageRecord, Session

CONFIRM_YES = "confirm_yes"
CONFIRM_NO = "confirm_no"
"""Button ids of the question (distinct from the ids ``yes``/``no`` of a flow's own yes/no
question, which may be waiting at the same time)."""


def ask(content: Snapshot, session: Session, intent: str, now: datetime) -> MessageRecord:
    """The question whether the user means closing (``intent``: ``"goodbye"``,
    ``"cancel"`` or ``"opt_out"``), with Sí/No reply buttons, at the step the session waits
    at; the question is remembered in ``session.confirming`` until answered."""
    session.confirming = intent
    data, lang = session.data, session.language
    choices = (
        Choice(CONFIRM_YES, content.locales.text(lang, "choices.yes", data)),
        Choice(CONFIRM_NO, content.locales.text(lang, "choices.no", data)),
    )
    question = content.locales.text(lang, f"confirm.{intent}", data)
    payload = choices_payload(choices, content.locales.text(lang, "choices.button", data))
    return content.service.reply(session, question, now, session.step_id, payload)


def answer(content: Snapshot, session: Session, text: str, payload: str | None) -> bool | None:
    """Read the answer to the pending question and clear it from the session.

    Args:
        content: The turn's content snapshot (the yes/no words of the user's language).
        session: The session; its ``confirming`` is cleared whatever the answer.
        text: The user's text (a typed "sí", "no", or anything else).
        payload: The tapped button's id, if any.

    Returns:
        ``True`` for yes (typed or tapped), ``False`` for no, ``None`` for anything else (a
        tap on another option, another message): the caller processes it as usual.
    """
    session.confirming = None
    if payload in (CONFIRM_YES, CONFIRM_NO):
        return payload == CONFIRM_YES
    if payload is not None:
        return None  # a tap on something else (an option of the waiting step)
    lang = session.language
    return parse_yes_no(
        text,
        None,
        [content.locales.text(lang, "choices.yes", {})],
        [content.locales.text(lang, "choices.no", {})],
    )


def resume(content: Snapshot, session: Session, now: datetime) -> MessageRecord:
    """ "OK, let's go on", with the question the session waits at (if any), in one message."""
    lang, data = session.language, session.data
    question: Reply | None = content.runner.question(session)
    if question is None:
        return content.service.reply(
            session, content.locales.text(lang, "confirm.resume_idle", data), now
        )
    text = f"{content.locales.text(lang, 'confirm.resume', data)}\n\n{question.text}"
    return content.service.reply(session, text, now, question.step_id, question.payload)
