"""A deferral that ends the chat: the user leaves now and says when or how they come back.

"driving, will reply later", "tenho paciente agora, depois continuo", "mañana termino
esto", "let me ask my husband and get back to you", "vou ver com o dono da frota e te
falo": the user takes the chat up again later, so the chat ends now (a goodbye), as every
brief since round 19 labels it. No phrase of the goodbye intent says it, and the words
around the deferral (the reason, who the user asks) are no intent's, so the lexicon heard
nothing. Two of the file's word lists say it:

- ``resumptions`` ("reply", "continue", "finish this", "sigo", "respondo", "volto aqui"):
  taking the chat up again, a goodbye with a later time (the file's ``deferrals``: "later",
  "mañana", "depois") in the same clause;
- ``callbacks`` ("get back to you", "call you back", "te aviso", "te falo", "retorno"):
  coming back to the business, a goodbye when it ends its clause (fillers and a later time
  aside): "te falo o preço" tells it now.

Not in a message with a question ("can I finish this later?"), with another intent heard
("deixa pra lá, depois eu vejo" cancels) or a negated close ("depois continuo, não fecha
não"); beside a phrase put off or supposed only a callback counts ("vou pensar se cancelo
o seguro, depois te falo" leaves, "amanhã eu vejo se cancelo" puts a cancel off). Nor
shortly after a negation ("I won't reply later"), in a past form ("I replied later"), or
in a clause that is or follows a condition. A wait ("one sec, I'll get back to you") still
makes the message no goodbye, unless the clause gives a later time (:func:`later_said`):
"I'm driving, will reply later" leaves for longer than a wait.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import replace

from bot.intents.analyzer import Clause, TokenKind
from bot.intents.index import PhraseIndex
from bot.intents.result import GOODBYE, GREET, NONE_INTENT
from bot.intents.scoring import NEGATED, ClauseScore
from bot.intents.timing import deferral_at

LEAVING_SCORE = 0.85
"""Confidence of the goodbye a leaving deferral says: above the default threshold
(``config.yaml`` ``intents.threshold``, 0.75), below the goodbye's while a flow waits for
free text (``threshold_in_flow``, 0.9), where it is asked about ("más tarde te escribo el
mail" may answer the step); below the fusion's ``sure`` (0.9), so a head sure of ``none``
makes it a question."""
_SAID_BESIDE = frozenset({GOODBYE, GREET})
"""The intents that may be heard in the message beside a leaving deferral: another ("deixa
pra lá, depois eu vejo" cancels, "quero o gratuito e depois vejo se assino" asks for a
trial) says what the message does. So does a negated close ("depois continuo, não fecha
não")."""
DEFERRAL_WINDOW = 4
"""Words at most between a resumption and the later time that dates it ("will reply
later", "depois eu respondo", "later i reply you"); farther away the time is another
thing's ("te cuento que ... el mes que viene")."""
NEGATION_WINDOW = 3
"""Words at most between a negation and the resumption it negates ("I won't reply later",
"não vou te responder depois")."""


def leaving_goodbyes(
    index: PhraseIndex,
    clauses: tuple[Clause, ...],
    scores: list[ClauseScore],
    tags: AbstractSet[int] = frozenset(),
) -> list[ClauseScore]:
    """``scores`` (one per clause) with a goodbye of at least :data:`LEAVING_SCORE` in each
    clause that says the user leaves for later (:func:`_leaves`), unless it or the clause
    before it (fillers-only clauses aside) opens with a conditional. Not in a message with a
    question, another intent heard or a negated one (:data:`_SAID_BESIDE`); the clauses of
    ``tags`` (positions of tag questions, fillers only: "vou pensar e te falo, tá?") ask for
    assent, not about the deferral."""
    firsts = index.leaving_firsts
    said = [not firsts.isdisjoint(token.norm for token in clause.tokens) for clause in clauses]
    if not any(said):
        return scores  # most messages: no word of either list
    # "my contract finish next month, any new vessel?"; "deixa pra lá, depois eu vejo"
    if any(c.is_question and n not in tags for n, c in enumerate(clauses)) or any(
        set(score.scores) - _SAID_BESIDE
        or any(why.startswith(NEGATED) for why in score.vetoes.values())
        for score in scores
    ):
        return scores
    # a phrase put off or supposed beside it: only a callback says the user leaves ("vou
    # pensar se cancelo o seguro, depois te falo"; "amanhã eu vejo se cancelo" does not); an
    # anti-example is no such phrase ("let me check, i'll message again tomorrow" leaves)
    callbacks_only = any(score.matched - _SAID_BESIDE - {NONE_INTENT} for score in scores)
    result = list(scores)
    condition = False  # the last clause with words opened with a conditional
    for n, (clause, score) in enumerate(zip(clauses, scores, strict=True)):
        opens_condition = index.conditionals.starts_at(clause.tokens, 0) > 0
        leaves = said[n] and _leaves(index, clause, score, callbacks_only)
        if not (condition or opens_condition) and leaves:
            raised = max(LEAVING_SCORE, score.scores.get(GOODBYE, 0.0))
            scored = {**score.scores, GOODBYE: raised}
            result[n] = replace(score, scores=scored, matched=score.matched | {GOODBYE})
        if any(t.kind is TokenKind.WORD for t in clause.tokens):
            condition = opens_condition
    return result


def later_said(index: PhraseIndex, clause: Clause) -> bool:
    """True when the clause holds a resumption or a callback and a later time (the file's
    ``deferrals``) and asks nothing: the user leaves for longer than a wait ("driving rn,
    will answer later")."""
    tokens = clause.tokens
    if clause.is_question or not _deferred(index, clause, _waited(index, clause)):
        return False
    return index.resumptions.anywhere(tokens) or index.callbacks.anywhere(tokens)


def _leaves(index: PhraseIndex, clause: Clause, score: ClauseScore, callbacks_only: bool) -> bool:
    """True when the clause has a resumption with a later time in it or a callback that
    ends it (fillers and later times aside), neither negated, in a past form, nor right
    after a determiner (a noun) or a politeness word (a request to the business); only a
    callback when ``callbacks_only``. The later time is at most :data:`DEFERRAL_WINDOW`
    words from the resumption."""
    tokens = clause.tokens
    firsts = index.callbacks.firsts if callbacks_only else index.leaving_firsts
    waited = _waited(index, clause)
    for i in range(len(tokens)):
        if tokens[i].norm not in firsts:
            continue  # most words start neither list's phrase
        resumed = 0 if callbacks_only else index.resumptions.starts_at(tokens, i)
        called = index.callbacks.starts_at(tokens, i)
        if not (resumed or called) or _negated(index, clause, i) or _past(index, clause, i):
            continue
        if i and (
            index.determiners.ends_at(tokens, i - 1) or index.politeness.ends_at(tokens, i - 1)
        ):
            continue  # a noun ("obrigado pelo retorno"), a request ("kindly revert")
        end = i + max(resumed, called)
        if _deferred(index, clause, waited, i - DEFERRAL_WINDOW, end + DEFERRAL_WINDOW):
            return True
        if called and _ends_clause(index, clause, score, i + called):
            return True
    return False


def _waited(index: PhraseIndex, clause: Clause) -> frozenset[int]:
    """Positions of the clause inside a wait ("daqui a pouco eu respondo" is right back)."""
    tokens = clause.tokens
    return frozenset(
        k for i in range(len(tokens)) for k in range(i, i + index.waits.starts_at(tokens, i))
    )


def _deferred(
    index: PhraseIndex,
    clause: Clause,
    waited: frozenset[int],
    start: int = 0,
    end: int | None = None,
) -> bool:
    """True when a deferral that puts the act off (:func:`~bot.intents.timing.deferral_at`:
    "i'll finish this later", not "esta mañana" after a determiner) starts in
    ``tokens[start:end]`` outside ``waited`` (:func:`_waited`)."""
    tokens = clause.tokens
    stop = len(tokens) if end is None else min(end, len(tokens))
    return any(
        i not in waited and deferral_at(index, tokens, i) for i in range(max(start, 0), stop)
    )


def _ends_clause(index: PhraseIndex, clause: Clause, score: ClauseScore, end: int) -> bool:
    """True when nothing but fillers, later times and punctuation follows ``end``."""
    tokens = clause.tokens
    fillers = score.filler_positions
    i = end
    while i < len(tokens):
        if tokens[i].kind is not TokenKind.WORD or i in fillers:
            i += 1
        elif later := index.deferrals.starts_at(tokens, i):
            i += later
        else:
            return False
    return True


def _negated(index: PhraseIndex, clause: Clause, at: int) -> bool:
    tokens = clause.tokens
    return index.negations.anywhere(tokens, max(0, at - NEGATION_WINDOW), at)


def _past(index: PhraseIndex, clause: Clause, at: int) -> bool:
    """True when the resumption's first word is a past form ("I replied later", "depois
    respondi") or a past-time word is in the clause."""
    tokens = clause.tokens
    token = tokens[at]
    before = tokens[at - 1].norm if at else None
    return index.past_form(token.orth, index.resolve(token).lemma, before) or index.past.anywhere(
        tokens
    )
