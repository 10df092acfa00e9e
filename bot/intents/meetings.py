"""A goodbye that says when or where the user will next meet the business.

"até sábado no banho do Bidu", "hasta el sábado en la feria", "até quinta às 9h": the
goodbye's phrase ("até sábado") opens its clause, and the rest, opened by one of the file's
``meetings`` words (pt no, na, em, às; es en, a las; en at), names the meeting. Those words
are no phrase of any intent, so the phrase covered too little of its clause to be heard,
while English "see you saturday at the grooming" passed on its keyword "see you". Here
the goodbye is as sure as a keyword (:data:`~bot.intents.config.ScoringConfig.keyword_floor`
plus its share of the coverage), unless the rest names a subject (the file's ``subjects``:
"até amanhã no banco eu pago" is "until tomorrow", a deadline), runs longer than
:data:`MAX_MEETING_WORDS` or the clause is a question.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import replace

from bot.intents.analyzer import Clause, TokenKind
from bot.intents.index import PhraseIndex
from bot.intents.scoring import ClauseScore

MAX_MEETING_WORDS = 6
"""Most words after the goodbye's phrase: the meeting word and what it names ("no banho
do Bidu", "na reunião de pais de terça"); a longer rest says more than where."""


def meeting_goodbyes(
    index: PhraseIndex,
    farewells: Set[str],
    floor: float,
    clauses: tuple[Clause, ...],
    scores: list[ClauseScore],
) -> list[ClauseScore]:
    """``scores`` (one per clause) with each clause's farewell intent (``farewells``: goodbye)
    raised to a keyword's confidence, ``floor + (1 - floor) * score**3``, when its phrase
    opens the clause (fillers before it aside), a ``meetings`` word follows the phrase, the
    clause is no question, no other intent scored in it, and the rest is at most
    :data:`MAX_MEETING_WORDS` words with no ``subjects`` word. Other scores are returned as
    they are."""
    return [
        _raised(index, farewells, floor, clause, score) if score.scores else score
        for clause, score in zip(clauses, scores, strict=True)
    ]


def _raised(
    index: PhraseIndex,
    farewells: Set[str],
    floor: float,
    clause: Clause,
    score: ClauseScore,
) -> ClauseScore:
    if clause.is_question or len(score.scores) != 1:
        return score
    ((intent, confidence),) = score.scores.items()
    if intent not in farewells or confidence >= 1.0:
        return score
    tokens = clause.tokens
    first = next(
        (
            i
            for i, t in enumerate(tokens)
            if t.kind is TokenKind.WORD and i not in score.filler_positions
        ),
        None,
    )
    span = next((s for s in score.spans if s.entry.intent == intent and s.start == first), None)
    if span is None or not index.meetings.starts_at(tokens, span.end):
        return score
    rest = tokens[span.end :]
    words = sum(t.kind is TokenKind.WORD for t in rest)
    if words > MAX_MEETING_WORDS or index.subjects.anywhere(rest):
        return score
    raised = span.score * (floor + (1.0 - floor) * confidence**3)
    if raised <= confidence:
        return score
    return replace(score, scores={intent: raised})
