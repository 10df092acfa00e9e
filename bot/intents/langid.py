"""Language identification from word evidence.

Each language has a lexicon: spaCy's stop words for it plus every word of its intent file.
A word found in ``k`` lexicons gives ``1/k`` point to each, and a word found in all of them
("no", "ok") is ignored, so shared words never decide anything. Adding a language (``pt``)
only takes its code and its intent file.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping

from bot.intents.normalize import dedouble, prepare, remove_apostrophes, strip_accents

_EMAIL_URL_RE = re.compile(r"\S+@\S+|\b(?:https?://|www\.)\S+")
_WORD_RE = re.compile(r"[^\W\d_]+")


def spacy_stop_words(language: str) -> frozenset[str]:
    """spaCy's stop words for ``language``, or an empty set when spaCy has none.

    Args:
        language: spaCy language code, e.g. ``"es"``.

    Returns:
        Lowercase words as spaCy lists them (accents and apostrophes kept).
    """
    try:
        module = importlib.import_module(f"spacy.lang.{language}.stop_words")
    except ImportError:
        return frozenset()
    words: Iterable[str] = getattr(module, "STOP_WORDS", ())
    return frozenset(words)


def message_words(text: str) -> list[str]:
    """The words of ``text`` as the lexicons hold them: lowercase, no accents, no apostrophes.

    Email addresses and URLs are dropped: they carry no language evidence.
    """
    plain = strip_accents(remove_apostrophes(_EMAIL_URL_RE.sub(" ", prepare(text))))
    return _WORD_RE.findall(plain)


class LanguageIdentifier:
    """Tells which of a few languages a short chat message is written in.

    Args:
        lexicons: Language code → its words (lowercase, accent-stripped).
        override_margin: How many points the other language must lead by to override the
            hint (one word found only in that language is 1 point).
    """

    def __init__(self, lexicons: Mapping[str, frozenset[str]], override_margin: float = 1.0):
        """Index which languages own each word."""
        self.languages = tuple(lexicons)
        owners: dict[str, list[str]] = {}
        for language, words in lexicons.items():
            for word in words:
                owners.setdefault(word, []).append(language)
        # A word every language has ("no", "ok") is no evidence at all: leave it out.
        self._owners = {
            word: tuple(langs) for word, langs in owners.items() if len(langs) < len(lexicons)
        }
        self._margin = override_margin

    def scores(self, text: str) -> dict[str, float]:
        """Evidence points per language (0.0 for a language with none)."""
        points = dict.fromkeys(self.languages, 0.0)
        for word in message_words(text):
            langs = self._owners.get(word) or self._owners.get(dedouble(word))
            if langs:
                share = 1.0 / len(langs)
                for language in langs:
                    points[language] += share
        return points

    def detect(self, text: str, hint: str | None = None) -> str | None:
        """The language of ``text``, or ``None`` when it cannot tell.

        Args:
            text: The raw message.
            hint: The conversation's language, if known. It wins unless another language
                leads it by ``override_margin`` points (a session in Spanish where the user
                writes "bye" is detected as English); ignored if not a known language.

        Returns:
            A language code from the lexicons, or ``None`` when the text has no evidence (an
            email address, a name, only words every language shares: "ok", "no"), or when
            languages tie and the hint is not among them.
        """
        points = self.scores(text)
        ranked = sorted(points.items(), key=lambda item: item[1], reverse=True)
        if not ranked or ranked[0][1] <= 0:
            return None
        best, best_points = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if hint in points:
            hint_points = points[hint]
            if best != hint and best_points - hint_points >= self._margin:
                return best
            if hint_points > 0:
                return hint
        return best if best_points > runner_up else None
