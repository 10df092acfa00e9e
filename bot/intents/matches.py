"""What the phrase index hands out: a phrase's meaning (:class:`Entry`), a user word
resolved against the vocabulary (:class:`Resolved`) and a phrase found in a message
(:class:`Span`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.intents.analyzer import Token
from bot.intents.cachefile import PickledAsFields

FILLER = ""
"""Pseudo intent of filler phrases ("por favor", "thanks"): they explain tokens, nothing more."""


@dataclass(frozen=True, slots=True)
class Entry(PickledAsFields):
    """What an indexed phrase means.

    Attributes:
        intent: The intent, or :data:`FILLER`.
        keyword: True for a keyword (or an example that contains one).
        text: The phrase as the author wrote it (for explanations).
        context: True for a context phrase: words that may accompany the intent's phrases
            (see :meth:`PhraseIndex.find_context`), never evidence on their own.
    """

    intent: str
    keyword: bool
    text: str = ""
    context: bool = False


@dataclass(frozen=True, slots=True)
class Resolved:
    """A user token resolved against the vocabulary.

    Attributes:
        token: The token as analyzed.
        form: The word to match: the token's norm, or the vocabulary word it was corrected to.
        lemma: Lemma of ``form`` (accent-stripped).
        score: 1.0 for a word as typed, less for a corrected one.
        fuzzy: True when ``form`` is a correction of a misspelling (by sound or by edits).
        weight: Importance when measuring coverage (see :class:`ScoringConfig`).
        how: ``"exact"``, ``"dedouble"`` ("chauu"), ``"diminutive"`` ("prontito"),
            ``"sound"`` ("ola"), ``"typo"`` ("cnacel"), or ``"unknown"`` for a word the
            language file does not know (it stays as typed).
    """

    token: Token
    form: str
    lemma: str
    score: float
    fuzzy: bool
    weight: float
    how: str = "exact"


@dataclass(frozen=True, slots=True)
class Span:
    """A matched phrase: tokens ``[start, end)`` of a clause.

    Attributes:
        entry: The phrase's meaning.
        score: The lowest word score in the span, times ``lemma_factor`` for a lemma match.
        fuzzy: A word in the span was a corrected misspelling.
        by_lemma: Matched through lemmas ("cancelaron" → cancelar), not the words.
    """

    start: int
    end: int
    entry: Entry
    score: float
    fuzzy: bool
    by_lemma: bool = False
