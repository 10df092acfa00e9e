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
        sound_factor: Score of a word that sounds like an intent word ("ola" → hola).
        typo_factor: Score of a word one edit away from an intent word ("cnacel"), raised to
            the number of edits. Below ``free_text_closing_threshold`` on purpose: a lone
            misspelled goodbye does not end a flow that waits for a name.
        typo_min_length: Words shorter than this are never corrected nor correction targets.
        fuzzy_min_length: Typed words up to this length accept a swap, insertion or deletion
            but no substitution ("hoal" → hola, "heya" → hey; "chat" is not "chau"); stop
            words this short are never correction targets ("nada", "todo").
        fuzzy_two_edits_length: Typed words this long or longer may be two edits away.
        negation_window: How many tokens before a phrase a negation still applies to.
        max_clause_tokens: Longer clauses are cut (bounds the work on pasted text).
        max_new_words: Words of a message (per language) that the vocabulary does not list
            as typed and are looked up further (lemma, variants, sound, compound; about
            25 µs each), the first ones in order (the dev and held-out sets need at most 8);
            later ones stay unknown, as typed.
        max_typo_searches: Unknown words of a message (per language) searched for a
            misspelling at most, the first ones in order (each search costs about 25 µs;
            the dev and held-out sets need at most 5); later ones stay unknown.
        free_text_closing_threshold: Default minimum confidence for closing intents while the
            user answers a free-text question.
    """

    stopword_weight: float = 0.5
    keyword_floor: float = 0.75
    lemma_factor: float = 0.95
    dedouble_factor: float = 0.98
    sound_factor: float = 0.95
    typo_factor: float = 0.85
    typo_min_length: int = 3
    fuzzy_min_length: int = 4
    fuzzy_two_edits_length: int = 8
    negation_window: int = 4
    max_clause_tokens: int = 40
    max_new_words: int = 12
    max_typo_searches: int = 8
    free_text_closing_threshold: float = 0.9
