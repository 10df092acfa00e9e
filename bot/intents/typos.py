"""Misspelled words: which intent word an unknown word is a misspelling of.

Misspellings are handled per word, against a small vocabulary of intent words only, never
against whole examples: by sound (Spanish "ola", "nos bemos", see :mod:`bot.intents.phonetic`),
by edit distance (rapidfuzz ``OSA``, where swapping two neighbours is one edit: "cnacel",
"hoal"), and short stop words by a swap of two neighbours ("yuo" → you).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from bot.intents.config import ScoringConfig
from bot.intents.lemmas import LemmaLookup
from bot.intents.phonetic import SOUND_KEYS


class TypoSearch:
    """The intent words of one language, ready for misspelled words to be matched to them.

    Args:
        language: The language (its sound key, if it has one).
        fuzzy_words: Intent words a misspelling may be corrected to.
        phrase_words: Every word of the intents' phrases (their short stop words get swaps).
        stop_words: Accent-stripped stop words.
        vocabulary: Every known word of the language file (a swap giving one is no typo).
        lemmas: Lemma lookup (a real word of the language is no typo).
        config: Matching parameters.
    """

    def __init__(
        self,
        language: str,
        fuzzy_words: Iterable[str],
        phrase_words: set[str],
        stop_words: frozenset[str],
        vocabulary: frozenset[str],
        lemmas: LemmaLookup,
        config: ScoringConfig,
    ) -> None:
        self._config = config
        self._lemmas = lemmas
        self._stop_words = stop_words
        self._vocabulary = vocabulary
        self._fuzzy_choices = sorted(fuzzy_words)
        longest = max((len(word) for word in self._fuzzy_choices), default=0)
        self._fuzzy_by_length = {
            length: [word for word in self._fuzzy_choices if abs(len(word) - length) <= 2]
            for length in range(longest + 3)
        }
        """Word length → the choices at most two edits can reach, in ``_fuzzy_choices``'s
        order (so the search finds what it would among all of them, three to five times
        faster, and nothing at all for a word longer than any choice)."""
        self._swapped = self._swapped_stop_words(phrase_words)
        """Short stop words of phrases with two neighbours swapped ("yuo" → you, "teh" →
        the): too short for edit distance (too many real words are one edit away), but a
        swap that makes no known word is a slip of the fingers."""
        self._sound_key = SOUND_KEYS.get(language)
        self._sounds: dict[str, tuple[str, ...]] = {}
        """Sound-alike key → the intent words with that key (see :mod:`~bot.intents.phonetic`)."""
        if self._sound_key is not None:
            for word in self._fuzzy_choices:
                sound = self._sound_key(word)
                self._sounds[sound] = (*self._sounds.get(sound, ()), word)
        self.typo_of: Callable[[str], tuple[str, int] | None] = lru_cache(maxsize=20_000)(
            self._typo
        )
        """:meth:`_typo` cached by word: language identification and scoring share it."""

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the typo cache (:mod:`~bot.intents.prebuilt`)."""
        state = self.__dict__.copy()
        del state["typo_of"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """An empty typo cache."""
        self.__dict__.update(state)
        self.typo_of = lru_cache(maxsize=20_000)(self._typo)

    def by_sound(self, norm: str) -> str | None:
        """The intent word that sounds like ``norm`` (the closest by edits when several do),
        or ``None`` (also for a language without a sound key)."""
        if self._sound_key is None:
            return None
        alike = self._sounds.get(self._sound_key(norm))
        if not alike:
            return None
        return min(alike, key=lambda known: OSA.distance(norm, known))

    def _swapped_stop_words(self, phrase_words: set[str]) -> dict[str, str]:
        """Each short stop word of a phrase with two neighbour letters swapped → the word,
        for swaps that are no known word ("yuo" → you, not "pro" → por)."""
        config = self._config
        swapped: dict[str, str] = {}
        for word in sorted(phrase_words & self._stop_words):
            if not config.typo_min_length <= len(word) <= config.fuzzy_min_length:
                continue
            for i in range(len(word) - 1):
                variant = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                if (
                    variant != word
                    and variant not in self._vocabulary
                    and not self._lemmas.is_known(variant)
                ):
                    swapped.setdefault(variant, word)
        return swapped

    def _typo(self, word: str) -> tuple[str, int] | None:
        """The intent word ``word`` is a misspelling of, and how many edits away it is.

        Edits are counted with OSA (insert, delete, substitute, swap two neighbours). Short
        words (up to ``fuzzy_min_length``) accept one insertion, deletion or swap but no
        substitution ("hoal" → hola, but "chat" is not "chau"); longer ones one edit of any
        kind, and words of ``fuzzy_two_edits_length`` letters or more two edits.
        """
        config = self._config
        limit = 2 if len(word) >= config.fuzzy_two_edits_length else 1
        choices = self._fuzzy_by_length.get(len(word), ())
        match = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=limit)
        if match is None:
            swapped = self._swapped.get(word)
            return (swapped, 1) if swapped is not None else None
        found, edits = match[0], int(match[1])
        if (
            len(word) <= config.fuzzy_min_length
            and len(found) == len(word)
            and Levenshtein.distance(word, found) == edits
        ):
            return None  # a substitution in a short word: too many real words are one away
        return found, edits
