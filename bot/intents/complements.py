"""A closing verb that completes a negated phrase before it: "no me interesa cancelar",
"not interested in cancelling", "não tenho interesse em cancelar". The phrase before ("no
me interesa", "not interested") closes on its own, and a negation inside a phrase of the
intent negates nothing after it ("never mind, forget it" still cancels); but a verb that is
its complement (an infinitive, a gerund, "to" and a verb) is what the user does not want.

Also where a negation's reach ends among an intent's phrases: a negation at the start of one
run of overlapping phrases does not negate a later run (:func:`negated_throughout`).
"""

from __future__ import annotations

from bot.intents.analyzer import Token
from bot.intents.index import PhraseIndex, Resolved, Span
from bot.intents.normalize import strip_accents
from bot.intents.tense import INFINITIVE_ENDINGS


def negated_complement(
    index: PhraseIndex,
    span: Span,
    tokens: tuple[Token, ...],
    resolved: list[Resolved],
    free: list[int],
) -> str | None:
    """The negation word of the phrase ``span`` completes, or ``None``.

    ``span`` must start right after another phrase of its intent (positions not in
    ``free``), or one word after it (a preposition: "em", "in"); that phrase must hold a
    negation; and ``span``'s first word must be a non-finite verb: an infinitive in Spanish
    or Portuguese, a gerund or a verb after "to" in English.
    """
    start = span.start
    gap = 1 if start >= 1 and (start - 1) in free else 0
    end = start - gap  # the phrase before ends here (exclusive)
    if end <= 0 or (end - 1) in free:
        return None
    if not _non_finite(index.language, resolved[start], tokens[start - 1].norm if gap else None):
        return None
    position = end - 1
    while position >= 0 and position not in free:
        if index.negations.ends_at(tokens, position):
            return tokens[position].orth
        position -= 1
    return None


def _non_finite(language: str, word: Resolved, before: str | None) -> bool:
    form = strip_accents(word.token.orth)
    if language == "en":
        return form.endswith("ing") or before == "to"
    return form == word.lemma and form.endswith(INFINITIVE_ENDINGS)


def negated_throughout(spans: list[Span], negated: dict[int, str]) -> str | None:
    """Why the intent is negated, when every run of its overlapping phrases is negated at
    its start, else ``None``. "no quiero cancelar" is one run ("quiero cancelar" and
    "cancelar" overlap), negated; in "no stop stop" and "no no stop i dont want to do this"
    a later run of the intent is not: the "no" is an interjection, not the phrase's."""
    if not negated:
        return None
    order = sorted(range(len(spans)), key=lambda n: (spans[n].start, -spans[n].end))
    end = -1
    why: str | None = None
    for n in order:
        span = spans[n]
        if span.start >= end:  # a new run: negated or not at its first phrase
            if n not in negated:
                return None
            why = why or negated[n]
        end = max(end, span.end)
    return why
