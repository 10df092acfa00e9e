"""Lemma lookup from ``spacy-lookups-data``, tolerant of missing accents."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from spacy.lookups import load_lookups

from bot.intents.normalize import strip_accents

# Letters a user may type without their accent; tried one at a time when a word is unknown.
_ACCENTED: dict[str, str] = {
    "a": "áàâã",
    "e": "éèê",
    "i": "íì",
    "o": "óòôõ",
    "u": "úü",
    "n": "ñ",
    "c": "ç",
}

# Pronouns Spanish attaches to infinitives, gerunds and imperatives ("olvídalo", "dejémoslo",
# "cancelarlo"); longest first. A word is stripped of one only when what is left is a known
# verb form, so "olvídalo" gets the lemma of "olvida" (olvidar).
_ENCLITICS: dict[str, tuple[str, ...]] = {
    "es": (
        "selos",
        "selas",
        "melos",
        "melas",
        "telos",
        "telas",
        "noslo",
        "nosla",
        "selo",
        "sela",
        "melo",
        "mela",
        "telo",
        "tela",
        "los",
        "las",
        "les",
        "nos",
        "lo",
        "la",
        "le",
        "me",
        "te",
        "se",
        "os",
    ),
}
_MIN_STEM = 3
# Diminutive endings ("lueguito", "prontito", "ahorita", "chaucito") → what replaces them.
_DIMINUTIVES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "es": (
        ("guito", ("go",)),
        ("guita", ("ga",)),
        ("quito", ("co",)),
        ("quita", ("ca",)),
        ("cito", ("", "e")),
        ("cita", ("", "e")),
        ("ito", ("o", "", "e")),
        ("ita", ("a", "", "e")),
        ("itos", ("os", "s")),
        ("itas", ("as", "s")),
    ),
}


class LemmaLookup:
    """Maps a lowercase word to its lemma, without accents.

    Loads the language's ``lemma_lookup`` table once (about 0.8 s for Spanish). Languages
    without a table get the identity. A word typed without its accent (``"gustaria"``) is
    looked up again with one accent restored (``"gustaría"`` → ``"gustar"``), a voseo form
    with its accent dropped (``"cancelá"`` → ``"cancela"`` → ``"cancelar"``), and a Spanish
    verb with an attached pronoun without it (``"olvídalo"`` → ``"olvida"`` → ``"olvidar"``).
    """

    def __init__(self, language: str, cache_size: int = 50_000) -> None:
        """Load the table for ``language`` (an ISO 639-1 code such as ``"es"``)."""
        lookups = load_lookups(language, ["lemma_lookup"], strict=False)
        self._table: Any = (
            lookups.get_table("lemma_lookup") if lookups.has_table("lemma_lookup") else None
        )
        self._enclitics = _ENCLITICS.get(language, ())
        self._diminutives = _DIMINUTIVES.get(language, ())
        self.lemma: Callable[[str], str] = lru_cache(maxsize=cache_size)(self._lemma)

    def diminutive_bases(self, word: str) -> list[str]:
        """Words ``word`` may be a diminutive of, most likely first (Spanish only).

        ``"lueguito"`` → ``["luego"]``; ``"prontito"`` → ``["pronto", "pront", "pronte"]``.
        The caller keeps the first one it knows. Empty for other languages or endings.
        """
        bases = []
        for ending, replacements in self._diminutives:
            if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM - 1:
                stem = word[: -len(ending)]
                bases += [stem + replacement for replacement in replacements]
        return bases

    def is_known(self, word: str) -> bool:
        """True when the table lists ``word`` (lowercase, accents optional) as an inflected form.

        Used to avoid "correcting" a real word ("canela") into an intent word ("cancela").
        """
        table = self._table
        if table is None or not word:
            return False
        if table.get(word) is not None:
            return True
        return word.isascii() and self._with_accent_restored(word) is not None

    def _lemma(self, word: str) -> str:
        """Lemma of ``word`` (lowercase, accents allowed), accent-stripped; itself if unknown."""
        table = self._table
        if table is None or not word:
            return strip_accents(word)
        found = self._find(word)
        if found is None:
            found = self._without_enclitic(word)
        return strip_accents(found if found is not None else word)

    def _find(self, word: str) -> str | None:
        """The table's lemma for ``word``, trying accents restored or dropped."""
        table = self._table
        found = table.get(word)
        if found is None:
            if word.isascii():
                return self._with_accent_restored(word)
            plain = strip_accents(word)
            found = table.get(plain)
            if found is None:
                return self._with_accent_restored(plain)
        return str(found)

    def _without_enclitic(self, word: str) -> str | None:
        """Lemma of ``word`` without an attached pronoun, if the rest is a verb form."""
        for clitic in self._enclitics:
            if len(word) - len(clitic) >= _MIN_STEM and word.endswith(clitic):
                stem = strip_accents(word[: -len(clitic)])
                if stem.endswith(("ar", "er", "ir")):
                    return stem  # an infinitive is its own lemma ("cancelarlo")
                found = self._find(stem)
                if found is not None:
                    return found
        return None

    def _with_accent_restored(self, word: str) -> str | None:
        table = self._table
        for index, char in enumerate(word):
            for accented in _ACCENTED.get(char, ""):
                found = table.get(word[:index] + accented + word[index + 1 :])
                if found is not None:
                    return str(found)
        return None
