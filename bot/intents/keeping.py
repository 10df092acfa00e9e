"""A message that tells the bot to keep going: a stop said negated (:func:`kept`).

"no pares, está buenísimo", "don't cancel it, he still wants to go", "não para não, tá indo
bem" ask the bot not to stop; a close found elsewhere in the message ("no, no me lo cancelés,
dejalo como estaba": the "dejalo" keeps things as they are) or heard by the semantic layer,
which does not read negation, is no close.
"""

from __future__ import annotations

from bot.intents.analyzer import Clause
from bot.intents.coverage import Seen, opening
from bot.intents.model import LanguageModel
from bot.intents.scoring import ClauseScore

GAP_WORDS = 2
"""Pronouns or fillers at most between a negation and the ``stopping`` verb it negates ("no
me lo pares", "ni loco pares")."""


def kept(seen: Seen) -> bool:
    """True when a clause of the message, in its own language (the first tried), says not to
    stop: a negation right before one of the language's ``stopping`` verbs (by lemma; at most
    :data:`GAP_WORDS` pronouns or fillers between), outside a question: "no frenes", "no, no
    me lo cancelés", "don't stop", "não para não", "num cancela não". Not a negation that
    answers ("no stop", English ``answers`` opening the clause), one in a run ("no no no
    stop": stressed), a stop said twice ("no stop stop") or in the past ("los chicos no
    paraban de jugar"), nor a verb the lexicon read as a close it did not veto ("ya no ya no
    déjalo", "ugh no just stop the whole thing": its negation guard judged them)."""
    if not seen:
        return False
    model, clauses, scores = seen[0]
    return any(
        _stop_negated(model, clause, score) for clause, score in zip(clauses, scores, strict=True)
    )


def _stop_negated(model: LanguageModel, clause: Clause, score: ClauseScore) -> bool:
    if clause.is_question:  # "why don't you stop?" asks for it
        return False
    index, tokens = model.index, clause.tokens
    fillers = score.filler_positions
    said = {  # the lexicon read these words as a close it did not veto ("ya no, déjalo")
        i
        for span in score.spans
        if span.entry.intent in model.closing and span.entry.intent not in score.vetoes
        for i in range(span.start, span.end)
    }
    first = opening(clause, score)
    for i in range(len(tokens)):
        length = index.negations.starts_at(tokens, i)
        if not length:
            continue
        j = i + length
        if (i and index.negations.ends_at(tokens, i - 1)) or index.negations.starts_at(tokens, j):
            continue  # a run: "no no no stop"
        if i == first and index.answers.starts_at(tokens, i):
            continue  # "no stop": an answer, then the stop
        while j < min(len(tokens), i + length + GAP_WORDS) and (
            tokens[j].norm in index.pronouns or j in fillers
        ):
            j += 1
        if j >= len(tokens) or j in said:
            continue
        lemma = index.lemma_of(tokens[j].norm)
        if lemma not in index.stopping_lemmas:
            continue
        repeated = j + 1 < len(tokens) and tokens[j + 1].norm == tokens[j].norm
        if not repeated and not index.past_form(tokens[j].orth, lemma, tokens[j - 1].norm):
            return True
    return False
