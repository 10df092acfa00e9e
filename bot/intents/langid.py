"""Language identification: word evidence first, a statistical model for the rest.

Each language has a lexicon: spaCy's stop words for it plus every word of its intent file.
A word found in ``k`` lexicons gives ``1/k`` point to each, and a word found in all of them
("no", "ok") is ignored, so shared words never decide anything. Adding a language (``pt``)
only takes its code and its intent file.

Languages that share much of their lexicons (Spanish and Portuguese share "no", "para",
"todo", "como"...) are *close* (:func:`close_pairs`). A letter that only one language's spaCy
stop words use (``ñ``; ``ã õ ç ê ô à``) marks that language: a word with it counts as a word
of that language alone (:func:`distinctive_letters`). A session's language then gives way to a
close language only for clear evidence: a marked word ("não", "você", "año") or a lead of
two words; a short or ambiguous message ("no", "para", "bueno", "ola") keeps it. Languages
that are not close keep the one-word margin ("bye" in a Spanish session is English).

When the words give no evidence and the conversation has no language yet (a name, a typo,
slang), misspellings of each language's intent words are evidence next ("canselar" is
Spanish, "hlelo" English); failing that, :class:`LinguaFallback` asks lingua
(``lingua-language-detector``, offline n-gram models, restricted to our languages, trigrams
only) and keeps its answer only when it is clearly ahead. Measured on
``tests/data/intents/dev.jsonl`` without hints: words alone 83.5 % right, 0.0 % wrong; words,
misspellings, then lingua 92.6 % right, 0.4 % wrong (held-out set: 94.5 % / 0.3 %; see
``docs/intents.md``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from bot.intents.bounds import bound_sequence, bounded_view
from bot.intents.normalize import dedouble_variants, prepare, remove_apostrophes, strip_accents

_WORD_RE = re.compile(r"[^\W\d_]+")
_URL_STARTS = ("http://", "https://", "www.")
MAX_CORRECTED_WORDS = 8
"""Words of a text without word evidence looked up as misspellings (see
:meth:`LanguageIdentifier.detect`)."""
_WORD_CHAR_RE = re.compile(r"\w")


def without_addresses(text: str) -> str:
    """``text`` with email addresses and URLs replaced by a space, in linear time.

    A whitespace-free piece with an ``@`` that is neither its first nor its last character
    goes whole; in any other piece, what follows ``http://``, ``https://`` or ``www.`` at the
    start of a word goes. (The same as ``re.sub(r"\\S+@\\S+|\\b(?:https?://|www\\.)\\S+",
    " ", text)``, whose first branch backtracks quadratically on a long run without spaces.)
    """
    if "@" not in text and "http" not in text and "www." not in text:
        return text
    parts = re.split(r"(\s+)", text)
    for position in range(0, len(parts), 2):
        piece = parts[position]
        if "@" in piece[1:-1]:
            parts[position] = " "
            continue
        cut = _url_start(piece)
        if cut is not None:
            parts[position] = piece[:cut] + " "
    return "".join(parts)


def _url_start(piece: str) -> int | None:
    """Where the first URL of a whitespace-free piece starts (at a word boundary), if any."""
    found: int | None = None
    for start in _URL_STARTS:
        position = piece.find(start)
        while position != -1 and (
            (position > 0 and _WORD_CHAR_RE.match(piece, position - 1))  # not a word start
            or position + len(start) == len(piece)  # nothing after it
        ):
            position = piece.find(start, position + 1)
        if position != -1 and (found is None or position < found):
            found = position
    return found


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


CLOSE_OVERLAP = 0.15
"""Share of the smaller lexicon that two languages must have in common to be close (measured
with the shipped files: es-pt 0.23, es-en and en-pt 0.04)."""


def close_pairs(
    lexicons: Mapping[str, frozenset[str]], overlap: float = CLOSE_OVERLAP
) -> frozenset[frozenset[str]]:
    """Pairs of languages whose lexicons share at least ``overlap`` of the smaller one
    (words every language has, "no", "ok", are left out: they tell no language apart)."""
    pairs: set[frozenset[str]] = set()
    codes = list(lexicons)
    everywhere = frozenset.intersection(*lexicons.values()) if lexicons else frozenset()
    for position, first in enumerate(codes):
        for second in codes[position + 1 :]:
            smaller = min(len(lexicons[first]), len(lexicons[second])) or 1
            shared = (lexicons[first] & lexicons[second]) - everywhere
            if len(shared) / smaller >= overlap:
                pairs.add(frozenset((first, second)))
    return frozenset(pairs)


def distinctive_letters(words: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Language → the non-ASCII letters that appear in its words and in no other language's.

    Args:
        words: Language code → words with their accents (spaCy's stop words: see
            :func:`spacy_stop_words`).

    Returns:
        For the shipped languages: es ``{ñ, ì}``, pt ``{à, ã, ç, ê, ô, õ}``, en nothing.
    """
    letters = {
        code: {char for word in found for char in word if char.isalpha() and not char.isascii()}
        for code, found in words.items()
    }
    return {
        code: frozenset(
            char
            for char in own
            if not any(char in other for key, other in letters.items() if key != code)
        )
        for code, own in letters.items()
    }


def message_words(
    text: str, prepared: str | None = None, *, keep_accents: bool = False
) -> list[str]:
    """The words of ``text`` as the lexicons hold them: lowercase, no accents, no apostrophes.

    Email addresses and URLs are dropped: they carry no language evidence. A long text gives
    its first and last words only (see :func:`~bot.intents.bounds.bound_sequence`).

    Args:
        text: The raw message.
        prepared: ``prepare(text)`` (any case) when the caller already has it.
        keep_accents: Leave the accents on (the caller strips them word by word).
    """
    lowered = remove_apostrophes(
        without_addresses((prepare(text) if prepared is None else prepared).lower())
    )
    plain = lowered if keep_accents else strip_accents(lowered)
    return bound_sequence(_WORD_RE.findall(plain))


class LinguaFallback:
    """lingua's answer for a text our lexicons cannot place, when it is clearly ahead.

    Args:
        languages: Language codes to choose among (ISO 639-1; codes lingua does not know
            are left out).
        min_distance: lingua's minimum relative distance between the best and second
            language, ``0..0.99``; below it the answer is ``None``.
        min_letters: Texts with fewer letters ("ok", "no") get ``None`` without asking.
        low_accuracy: Load only lingua's trigram models: about 5 MB instead of 52 MB of RSS
            for es+en. Measured on the dev set after word evidence and corrections (see
            :class:`LanguageIdentifier`), at 0.7: 92.6 % right, 0.4 % wrong; with all models
            at 0.5, 94.2 % / 0.0 %; trigrams only at 0.5, 92.8 % / 0.6 %.

    Building it loads lingua's models for ``languages`` (trigrams only: about 0.1 s); a call
    takes about 40 µs.
    """

    def __init__(
        self,
        languages: Sequence[str],
        min_distance: float = 0.7,
        min_letters: int = 4,
        low_accuracy: bool = True,
    ) -> None:
        """Build a detector restricted to ``languages`` (at least two that lingua knows)."""
        self._codes: dict[Language, str] = {}
        for code in languages:
            try:
                language = Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
            except ValueError:
                continue
            self._codes[language] = code
        self._min_letters = min_letters
        self._detector = None
        if len(self._codes) >= 2:
            builder = LanguageDetectorBuilder.from_languages(*self._codes)
            builder = builder.with_minimum_relative_distance(min_distance)
            if low_accuracy:
                builder = builder.with_low_accuracy_mode()
            self._detector = builder.with_preloaded_language_models().build()

    def __call__(self, text: str) -> str | None:
        """The language of ``text`` among ours, or ``None`` when lingua is not sure.

        Email addresses and URLs are left out: they tell nothing about the language.
        """
        text = without_addresses(bounded_view(text))
        if self._detector is None or sum(char.isalpha() for char in text) < self._min_letters:
            return None
        found = self._detector.detect_language_of(text)
        return self._codes.get(found) if found is not None else None


class LanguageIdentifier:
    """Tells which of a few languages a short chat message is written in.

    Args:
        lexicons: Language code → its words (lowercase, accent-stripped).
        override_margin: How many points the other language must lead by to override the
            hint (one word found only in that language is 1 point).
        fallback: Asked when the words give no evidence and there is no hint (see
            :class:`LinguaFallback`); ``None`` to rely on words only.
        corrections: Language code → whether a word (lowercase, accent-stripped) is a
            misspelling of one of the language's words ("canselar", "hlelo"). Asked, before
            the fallback, when the words give no evidence and there is no hint; a word
            corrected in ``k`` languages gives each ``1/k`` point, as in :meth:`scores`.
    """

    def __init__(
        self,
        lexicons: Mapping[str, frozenset[str]],
        override_margin: float = 1.0,
        fallback: Callable[[str], str | None] | None = None,
        corrections: Mapping[str, Callable[[str], bool]] | None = None,
        marks: Mapping[str, frozenset[str]] | None = None,
    ):
        """Index which languages own each word.

        ``marks`` is language → letters only it uses (default: :func:`distinctive_letters`
        of each language's spaCy stop words), used for languages with a close one."""
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
        self._fallback = fallback
        self._corrections = {
            code: corrects for code, corrects in (corrections or {}).items() if code in lexicons
        }
        self._close = close_pairs(lexicons)
        if marks is None:
            marks = distinctive_letters({code: spacy_stop_words(code) for code in lexicons})
        # Marks only tell close languages apart: with es and en alone, "Pérez" stays no
        # evidence, as before Portuguese was added.
        self._marks = {
            char: code
            for code, chars in marks.items()
            if any(code in pair for pair in self._close)
            for char in chars
        }

    def is_close(self, first: str, second: str) -> bool:
        """True when the two languages share much of their lexicons (es and pt)."""
        return frozenset((first, second)) in self._close

    def scores(self, text: str, prepared: str | None = None) -> dict[str, float]:
        """Evidence points per language (0.0 for a language with none).

        ``prepared`` is ``prepare(text)`` (any case) when the caller already has it.
        """
        return self._scores(text, prepared)[0]

    def _scores(self, text: str, prepared: str | None) -> tuple[dict[str, float], set[str]]:
        """Evidence points per language, and the languages a marked word was found for."""
        points = dict.fromkeys(self.languages, 0.0)
        marked: set[str] = set()
        owners = self._owners
        marks = self._marks
        for word in message_words(text, prepared, keep_accents=bool(marks)):
            marker = next((marks[char] for char in word if char in marks), None) if marks else None
            if marker is not None:
                points[marker] += 1.0  # "não", "você", "año": that language's alone
                marked.add(marker)
                continue
            if marks:
                word = strip_accents(word)
            langs = owners.get(word)
            if langs is None:
                langs = next((owners[v] for v in dedouble_variants(word) if v in owners), None)
            if langs:
                share = 1.0 / len(langs)
                for language in langs:
                    points[language] += share
        return points, marked

    def detect(self, text: str, hint: str | None = None, prepared: str | None = None) -> str | None:
        """The language of ``text``, or ``None`` when it cannot tell.

        Args:
            text: The raw message.
            hint: The conversation's language, if known. It wins unless another language
                leads it by ``override_margin`` points (a session in Spanish where the user
                writes "bye" is detected as English); ignored if not a known language.
            prepared: ``prepare(text)`` (any case) when the caller already has it.

        Returns:
            A language code from the lexicons, or ``None`` when the text has no evidence (an
            email address, a number, only words every language shares: "ok", "no") and
            there is a hint or the fallback is not sure, or when languages tie and the hint
            is not among them.
        """
        points, marked = self._scores(text, prepared)
        ranked = sorted(points.items(), key=lambda item: item[1], reverse=True)
        if not ranked or ranked[0][1] <= 0:
            if hint is not None:
                return None
            corrected = self._corrected(text, prepared)
            if corrected is not None:
                return self._second_opinion(text, corrected)
            return self._fallback(text) if self._fallback is not None else None
        best, best_points = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if hint in points:
            hint_points = points[hint]
            sticky = best != hint and self.is_close(best, hint) and best not in marked
            margin = self._margin * 2 if sticky else self._margin
            if best != hint and best_points - hint_points >= margin:
                return best
            if hint_points > 0 or sticky:
                return hint  # sticky: "ola", "desisto", "a qué hora" both could write
        return best if best_points > runner_up else None

    def _second_opinion(self, text: str, found: str) -> str:
        """``found`` (from misspellings), unless the fallback clearly names a language close
        to it: a misspelling of one close language's word is often a real word of the other
        ("salida" is no typo of "saída"), which lingua's n-grams tell apart ("Calle Salida
        22", "déjame pensarlo" are Spanish). Not asked for word evidence: on one or two
        words lingua confuses es and pt more often than our lexicons (measured: 19 against 8
        es↔pt confusions on the sets).
        """
        if self._fallback is None or not any(self.is_close(found, o) for o in self.languages):
            return found
        other = self._fallback(text)
        return other if other is not None and self.is_close(found, other) else found

    def _corrected(self, text: str, prepared: str | None) -> str | None:
        """The language whose words the message's misspellings are, when only one leads."""
        corrections = self._corrections
        if not corrections:
            return None
        points = dict.fromkeys(corrections, 0.0)
        # Only a short text has no word of any lexicon (stop words included): its first words
        # tell, and each costs a typo search per language.
        for word in message_words(text, prepared)[:MAX_CORRECTED_WORDS]:
            langs = [code for code, corrects in corrections.items() if corrects(word)]
            if 0 < len(langs) < len(corrections):
                for language in langs:
                    points[language] += 1.0 / len(langs)
        ranked = sorted(points.items(), key=lambda item: item[1], reverse=True)
        best, best_points = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        return best if best_points > runner_up else None
