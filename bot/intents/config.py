"""Tuning knobs of the classifier, in one frozen object so tests and callers can vary them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Weights and limits used when matching and scoring a message.

    Attributes:
        stopword_weight: Weight of a stop word when measuring how much of a clause an intent
            explains (content words weigh 1, unknown emoji 0).
        keyword_floor: Confidence share an exact keyword earns just by being present; the
            rest, ``1 - keyword_floor``, scales with the cube of coverage, so a keyword in a
            message that is not almost all intent words and fillers ("hola soy Chao") stays
            below the free-text threshold.
        lemma_factor: Score factor for a phrase matched by lemmas rather than by words.
        dedouble_factor: Score factor for a word found after collapsing doubled letters.
        fuzzy_factor: Score factor for a misspelled word, times its similarity (0..1).
        fuzzy_cutoff: Minimum rapidfuzz ``ratio`` (0..100) to accept a misspelling.
        fuzzy_min_length: Shorter words are never fuzzy-matched.
        negation_window: How many tokens before a phrase a negation still applies to.
        max_clause_tokens: Longer clauses are cut (bounds the work on pasted text).
        free_text_closing_threshold: Default minimum confidence for closing intents while the
            user answers a free-text question.
    """

    stopword_weight: float = 0.5
    keyword_floor: float = 0.75
    lemma_factor: float = 0.95
    dedouble_factor: float = 0.98
    fuzzy_factor: float = 0.9
    fuzzy_cutoff: float = 85.0
    fuzzy_min_length: int = 4
    negation_window: int = 4
    max_clause_tokens: int = 40
    free_text_closing_threshold: float = 0.9
