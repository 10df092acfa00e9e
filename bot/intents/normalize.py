"""Language-independent text normalization for chat messages.

The pipeline is split in two so that lemma lookup (which needs accents) can run in between:

1. :func:`prepare` on the whole message: Unicode compatibility form, lowercase (unless the
   caller keeps the case to spot proper names), emoji made into separate words (skin tones and
   variation selectors dropped), letters repeated 3+ times cut to two (``"holaaa"`` →
   ``"holaa"``), laughter shortened (``"jajajaja"`` → ``"jaja"``).
2. :func:`strip_accents` on single words, after tokenization and lemma lookup.

:func:`dedouble_variants` is the last step of "holaaa" → "hola": it is tried only when the
doubled form is not a known word, so real double letters ("llamar", "good") survive.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_EMOJI_CLASS = (
    "\u2300-\u23ff"  # misc technical (⌛ ⏰)
    "\u2600-\u27bf"  # misc symbols, dingbats (❌ ✋ ✖ ☺)
    "\u2b00-\u2bff"  # arrows, stars (⭐ ⬅)
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, supplemental symbols
)
_EMOJI_RE = re.compile(f"[{_EMOJI_CLASS}]")
_EMOJI_ONLY_RE = re.compile(f"[{_EMOJI_CLASS}]+")
# Variation selectors, zero-width joiner, skin-tone modifiers, tag characters.
_DROP_RE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}", re.IGNORECASE)
_LAUGH_RE = re.compile(r"\b([jh][aeiou])(?:\1)+[jh]?\b", re.IGNORECASE)
_DOUBLE_RE = re.compile(r"([^\W\d_])\1")
_APOSTROPHES_RE = re.compile("['\u2018\u2019\u02bc`\u00b4]")
_NON_WORD_RE = re.compile(r"[\W_]+")


def prepare(text: str, keep_case: bool = False) -> str:
    """Normalize a whole message before tokenization.

    Args:
        text: The user's message, any case or Unicode form.
        keep_case: Keep upper case letters (the analyzer lowercases each token itself and
            remembers which were capitalized: "me llamo Chao" is a name, not a goodbye).

    Returns:
        NFKC text (lowercase unless ``keep_case``) with emoji surrounded by spaces and long
        letter runs shortened. Accents and punctuation are kept (tokenization and lemma lookup
        need them).
    """
    if not text.isascii():  # ASCII is its own NFKC form and holds no emoji
        text = unicodedata.normalize("NFKC", text)
        text = _DROP_RE.sub("", text)
        text = _EMOJI_RE.sub(r" \g<0> ", text)
    if not keep_case:
        text = text.lower()
    text = _REPEAT_RE.sub(r"\1\1", text)
    return _LAUGH_RE.sub(r"\1\1", text)


_QUOTED_RE = re.compile(r'"[^"\n]{1,200}"|“[^”\n]{1,200}”|«[^»\n]{1,200}»|„[^“”\n]{1,200}[“”]')
"""A quoted part of a message: double quotes, curly double quotes, guillemets (not single
quotes, which are also apostrophes)."""


def without_mentions(text: str) -> str:
    """``text`` without its quoted parts when words stand outside them: a quoted word is
    mentioned, not said ('the message says "reply STOP to unsubscribe", is that free?', 'mi
    nene mandó "chau" desde mi celu'). A message that is all quotes ('"cancelar"') is kept.
    Linear in the text's length."""
    if '"' not in text and not any(mark in text for mark in "“«„"):
        return text
    outside = _QUOTED_RE.sub(" ", text)
    return outside if any(char.isalpha() for char in outside) else text


def strip_accents(word: str) -> str:
    """Remove diacritics: ``"adiós"`` → ``"adios"``, ``"ñ"`` → ``"n"``; emoji are unchanged."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept)


def dedouble(word: str) -> str:
    """Collapse every doubled letter to one: ``"chauu"`` → ``"chau"``, ``"byee"`` → ``"bye"``."""
    return _DOUBLE_RE.sub(r"\1", word)


def dedouble_variants(word: str) -> list[str]:
    """Forms of ``word`` with one doubled letter collapsed, then with all of them collapsed.

    ``"goodbyee"`` → ``["godbyee", "goodbye", "godbye"]``: the caller keeps the first known
    word, so real double letters survive when the stretched one is elsewhere.
    """
    runs = [match.start() for match in _DOUBLE_RE.finditer(word)]
    variants = [word[:start] + word[start + 1 :] for start in runs]
    if len(runs) > 1:
        variants.append(dedouble(word))
    return variants


def is_emoji(text: str) -> bool:
    """True when ``text`` is made only of emoji/pictograph characters (after :func:`prepare`)."""
    return _EMOJI_ONLY_RE.fullmatch(text) is not None


def remove_apostrophes(text: str) -> str:
    """Join words split by an apostrophe: ``"don't"`` → ``"dont"``."""
    return _APOSTROPHES_RE.sub("", text)


def split_word(text: str) -> list[str]:
    """Split a token on inner punctuation: ``"bye-bye"`` → ``["bye", "bye"]``; drops empties."""
    return [part for part in _NON_WORD_RE.split(text) if part]


def plain_words(words: Iterable[str]) -> frozenset[str]:
    """Accent-stripped, apostrophe-free, alphabetic forms of ``words`` (e.g. spaCy stop words)."""
    result = set()
    for word in words:
        plain = strip_accents(word.lower()).replace("'", "").replace("\u2019", "")
        if plain.isalpha():
            result.add(plain)
    return frozenset(result)
