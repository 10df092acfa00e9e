"""Opt-outs read from what a message says about the messages a business sends.

A cancel of those messages ("please stop the walk reminders", "ya no me escriban") or a
refusal of more of them ("no me manden más ofertas", "não quero mais receber oferta de
gás") asks for no more messages, not for the end of the conversation: an opt-out. The
language file's ``messaging`` (the messages), ``sending`` (verbs of sending or receiving
them), ``further`` ("more") and ``partials`` ("only the billing ones") say it.
"""

from __future__ import annotations

from dataclasses import replace

from bot.intents.analyzer import Clause, Token
from bot.intents.index import PhraseIndex
from bot.intents.result import CANCEL, OPT_OUT
from bot.intents.scoring import ClauseScore

OPTED_SCORE = 0.8
"""Confidence of an opt-out read from the business's messages, at least: above the default
threshold, below a whole-message example's 1.0."""
MESSAGES_SCORE = 0.25
"""A cancel scored this much or more beside the messages a business sends opts out
(:func:`messages_stopped`); below it the clause hardly says a stop."""


def messages_stopped(
    index: PhraseIndex, clauses: tuple[Clause, ...], scores: list[ClauseScore]
) -> list[ClauseScore]:
    """``scores`` with a cancel the guards let through, scored :data:`MESSAGES_SCORE` or
    more, in a clause that names the messages a business sends (the file's
    ``messaging``), read as an opt-out of at least :data:`OPTED_SCORE`: "please stop
    the walk reminders", "ya no me manden recordatorios del paseo" ask for no more
    messages, not for the end of the conversation; so does one of the file's ``sending``
    verbs right after the cancel's phrase ("ya no me escriban", "quit calling me"). A
    messaging word inside the cancel's own phrase is the user's ("disregard my last
    message")."""
    stopped = list(scores)
    for n, (clause, score) in enumerate(zip(clauses, scores, strict=True)):
        value = score.scores.get(CANCEL, 0.0)
        if value < MESSAGES_SCORE or OPT_OUT in score.vetoes:
            continue
        tokens = clause.tokens
        spans = [s for s in score.spans if s.entry.intent == CANCEL]
        stop = min((s.start for s in spans), default=0)
        own = {i for s in spans for i in range(s.start, s.end)}  # "disregard my last message"
        named = [
            i
            for i in range(stop, len(tokens))
            if i not in own and index.messaging.starts_at(tokens, i)
        ]  # and a sending verb right after the stop: "ya no me escriban", "quit calling me"
        named += [s.end for s in spans if index.sending.starts_at(tokens, s.end)]
        if not named or any(index.partials.starts_at(tokens, i) for i in range(stop, min(named))):
            continue  # about what follows the stop, all of it: not "só as de cobrança"
        kept = {k: v for k, v in score.scores.items() if k != CANCEL}
        opted = max(value, OPTED_SCORE, kept.get(OPT_OUT, 0.0))
        stopped[n] = replace(
            score, scores={**kept, OPT_OUT: opted}, matched=score.matched | {OPT_OUT}
        )
    return stopped


def messages_refused(
    index: PhraseIndex, clauses: tuple[Clause, ...], scores: list[ClauseScore]
) -> list[ClauseScore]:
    """``scores`` with an opt-out of :data:`OPTED_SCORE` in a clause where a negation
    comes before two of: a word of the file's ``further`` ("more", "más", "mais",
    "anymore"), a word naming the messages a business sends (``messaging``), a verb of
    sending or receiving them (``sending``): "please don't send me offers anymore", "no
    necesito más mensajes de la agencia", "ya no me manden ofertas de crédito", "no
    quiero recibir nada más de esta empresa". Not in a message with a question ("¿qué
    escribo para no recibir más mensajes?"), nor in a clause with a past-time word ("i
    said stop last week and got 3 more texts") or where an opt-out was vetoed ("no me
    den de baja")."""
    if any(clause.is_question for clause in clauses):
        return scores
    refused = list(scores)
    for n, (clause, score) in enumerate(zip(clauses, scores, strict=True)):
        tokens = clause.tokens
        if score.scores.get(OPT_OUT, 0.0) >= OPTED_SCORE or OPT_OUT in score.vetoes:
            continue  # (one the lexicon scored below its threshold is raised)
        if not (index.messaging.anywhere(tokens) or index.sending.anywhere(tokens)):
            continue  # most clauses name no messages: the cheap test first
        negation = index.negations.first_at(tokens)
        if (
            negation is not None
            and not index.past.anywhere(tokens)
            and _refuses(index, tokens, negation)
        ):
            opted = {**score.scores, OPT_OUT: OPTED_SCORE}
            refused[n] = replace(score, scores=opted, matched=score.matched | {OPT_OUT})
    return refused


def _refuses(index: PhraseIndex, tokens: tuple[Token, ...], negation: int) -> bool:
    """True when at least two of ``further``, ``messaging`` and ``sending`` words come after
    the negation at ``negation`` (see :func:`messages_refused`)."""
    said = (
        index.further.anywhere(tokens, negation),
        index.messaging.anywhere(tokens, negation),
        index.sending.anywhere(tokens, negation),
    )
    return sum(said) >= 2
