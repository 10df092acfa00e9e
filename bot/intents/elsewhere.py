"""A cancel beside a business object named in another clause: about that object, or not.

"the order I placed yesterday, cancel it" cancels the order: the cancel's clause names
nothing, and ``cancel it`` refers back to the object the other clause names. "this is way
too many questions for a simple booking, i'm giving up" abandons the chat: the booking is
only the reason, and giving up takes no object. Whether a cancel takes the object named
elsewhere is read from the message, in this order:

1. The message is about the object when another of its phrases is: a cancel vetoed beside
   an object in its own clause ("anulame la orden, me arrepentí"), an author intent's
   phrase or object ("aquele pedido de hoje cedo, esquece": the order flow's ``pedido``),
   or a question about an object ("enough chit chat, when does my parcel arrive?").
2. Else the cancel's clause refers back with one of the file's ``referring`` words, by its
   form or its lemma: a verb whose object is a thing (cancel, forget, want: "cancélalo",
   "não quero mais", "scrap it") or a pronoun for one ("esquece ele").
3. Else the cancel is the user's own, about the chat ("mind if we stop now? my lunch
   break's over", "pode parar o cadastro aí, vou fazer aula com meu primo").
"""

from __future__ import annotations

from dataclasses import replace

from bot.intents.analyzer import Clause
from bot.intents.business import names_a_thing
from bot.intents.index import PhraseIndex
from bot.intents.questions import opens_question
from bot.intents.result import CANCEL
from bot.intents.scoring import (
    BUSINESS_ELSEWHERE_VETO,
    BUSINESS_VETO,
    ClauseScore,
)

MAX_PRONOUN = 3
"""Letters at most of a ``referring`` word that is a pronoun written onto a verb ("lo", "las")."""
MIN_STEM = 3
"""Letters at least of the verb a pronoun is written onto ("cancela" + "lo")."""


def business_elsewhere(
    index: PhraseIndex, clauses: tuple[Clause, ...], scores: list[ClauseScore]
) -> list[ClauseScore]:
    """``scores`` (one per clause) with the cancel of each clause that names no business
    object vetoed (:data:`~bot.intents.scoring.BUSINESS_ELSEWHERE_VETO`) when another
    clause names one and the cancel takes it (see the module docstring); the order flow's
    routing reads that veto. Other scores are returned as they are."""
    if len(clauses) < 2 or not any(CANCEL in score.scores for score in scores):
        return scores
    # any object, the chat's own process too (not business.business_at): "pode parar, não
    # quero mais fazer a inscrição" leaves the stop to refers_back, which takes no object
    # or a clause before the last that only names a thing ("my eye test at 11, cancel it")
    named = [
        index.business_objects.anywhere(clause.tokens)
        or (n < len(clauses) - 1 and names_a_thing(index, clause.tokens))
        for n, clause in enumerate(clauses)
    ]
    if not any(named):
        return scores
    about = _about_the_object(index, clauses, scores)
    return [
        replace(
            score,
            scores={k: v for k, v in score.scores.items() if k != CANCEL},
            vetoes={**score.vetoes, CANCEL: BUSINESS_ELSEWHERE_VETO},
        )
        if CANCEL in score.scores and not object_here and (about or refers_back(index, clause))
        else score
        for score, clause, object_here in zip(scores, clauses, named, strict=True)
    ]


def refers_back(index: PhraseIndex, clause: Clause) -> bool:
    """True when one of the clause's words is one of the file's ``referring`` words, as
    typed or by lemma ("cancélalo" → cancelar, "quero" → querer)."""
    words = index.referring.words
    if not words:
        return False
    lemmas = {index.lemma_of(word) for word in words}
    return any(
        t.norm in words or index.lemma_of(t.norm) in lemmas or _enclitic(index, t.norm, lemmas)
        for t in clause.tokens
    )


def _enclitic(index: PhraseIndex, word: str, lemmas: set[str]) -> bool:
    """True when ``word`` is a ``referring`` verb with one of the ``referring`` pronouns
    written onto it ("cancelalo": cancela + lo; "anulala")."""
    return any(
        len(word) > len(pronoun) + MIN_STEM
        and word.endswith(pronoun)
        and index.lemma_of(word[: -len(pronoun)]) in lemmas
        for pronoun in index.referring.words
        if len(pronoun) <= MAX_PRONOUN
    )


def _about_the_object(
    index: PhraseIndex,
    clauses: tuple[Clause, ...],
    scores: list[ClauseScore],
) -> bool:
    """True when another phrase of the message is about the business object: point 1 of the
    module docstring."""
    if any(score.vetoes.get(CANCEL) == BUSINESS_VETO for score in scores):
        return True
    if any(intent in score.scores for score in scores for intent in index.objects):
        return True
    if any(o.anywhere(clause.tokens) for o in index.objects.values() for clause in clauses):
        return True
    return any(
        (clause.is_question or opens_question(index, clause.tokens, 0))
        and index.business_objects.anywhere(clause.tokens)
        for clause in clauses
    )
