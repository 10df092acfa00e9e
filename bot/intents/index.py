"""Dictionary index of one language's phrases, and resolution of user words against it.

Examples and keywords are stored as tuples of normalized words and of lemmas, so that a span
of a message is matched with one dict lookup. Misspellings are handled per word, against a
small vocabulary of intent words only (rapidfuzz ``extractOne``), never against whole examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.errors import DataFileError
from bot.intents.analyzer import Analyzer, Token, TokenKind
from bot.intents.config import ScoringConfig
from bot.intents.data import LanguageData, Phrase
from bot.intents.guards import GuardWords
from bot.intents.lemmas import LemmaLookup
from bot.intents.normalize import dedouble, dedouble_variants

FILLER = ""
"""Pseudo intent of filler phrases ("por favor", "thanks"): they explain tokens, nothing more."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What an indexed phrase means: its intent (or :data:`FILLER`) and whether it is a keyword."""

    intent: str
    keyword: bool


@dataclass(frozen=True, slots=True)
class Resolved:
    """A user token resolved against the vocabulary.

    Attributes:
        token: The token as analyzed.
        form: The word to match: the token's norm, or the vocabulary word it was corrected to.
        lemma: Lemma of ``form`` (accent-stripped).
        score: 1.0 for a word as typed, less for a corrected one.
        fuzzy: True when ``form`` comes from a fuzzy (misspelling) match.
        weight: Importance when measuring coverage (see :class:`ScoringConfig`).
    """

    token: Token
    form: str
    lemma: str
    score: float
    fuzzy: bool
    weight: float


@dataclass(frozen=True, slots=True)
class Span:
    """A matched phrase: tokens ``[start, end)`` of a clause."""

    start: int
    end: int
    entry: Entry
    score: float
    fuzzy: bool


class PhraseIndex:
    """All phrases of one language file, indexed for span lookup.

    Raises:
        DataFileError: (from the constructor) a phrase has no words after normalization, or
            the same phrase is given for two different intents.
    """

    def __init__(
        self,
        data: LanguageData,
        analyzer: Analyzer,
        lemmas: LemmaLookup,
        stop_words: frozenset[str],
        config: ScoringConfig,
    ) -> None:
        """Index ``data``'s examples, keywords and fillers.

        Args:
            data: The validated language file.
            analyzer: Tokenizer for the language (the same one used on messages).
            lemmas: Lemma lookup for the language.
            stop_words: Accent-stripped stop words; they weigh less and are never corrected.
            config: Matching parameters.
        """
        self.language = data.language
        self._path = data.path
        self._analyzer = analyzer
        self._lemmas = lemmas
        self._config = config
        self.stop_words = stop_words
        self.surface: dict[tuple[str, ...], Entry] = {}
        self.lemma: dict[tuple[str, ...], Entry] = {}
        self._lemma_ambiguous: set[tuple[str, ...]] = set()
        self._owner_line: dict[tuple[str, ...], int | None] = {}
        words: set[str] = set()
        fuzzy_words: set[str] = set()

        for spec in data.intents.values():
            for phrase, keyword in [(p, True) for p in spec.keywords] + [
                (p, False) for p in spec.examples
            ]:
                tokens = self._phrase_tokens(phrase, f"intent {spec.name!r}")
                self._add(tokens, Entry(spec.name, keyword), phrase)
                words.update(t.norm for t in tokens)
                fuzzy_words.update(
                    t.norm
                    for t in tokens
                    if t.kind is TokenKind.WORD
                    and len(t.norm) >= config.fuzzy_min_length
                    and t.norm not in stop_words
                )
        for phrase in data.fillers:
            tokens = self._phrase_tokens(phrase, "fillers")
            key = tuple(t.norm for t in tokens)
            self.surface.setdefault(key, Entry(FILLER, keyword=False))
            words.update(key)
            fuzzy_words.update(w for w in key if len(w) >= config.fuzzy_min_length)

        self.negations = GuardWords(data.negations, analyzer)
        self.question_words = GuardWords(data.question_words, analyzer)
        self.conditionals = GuardWords(data.conditionals, analyzer)
        self.deferrals = GuardWords(data.deferrals, analyzer)
        for guard in (self.negations, self.question_words, self.conditionals, self.deferrals):
            words.update(guard.words)
        for expansion in data.abbreviations.values():
            words.update(t.norm for t in analyzer.phrase_tokens(expansion.text))

        self._promote_examples_with_keywords()
        self.filler_words: frozenset[str] = frozenset(
            key[0] for key, entry in self.surface.items() if entry.intent == FILLER
        )
        """First words of filler phrases ("no gracias" is a decline, not a negation)."""
        self.words: frozenset[str] = frozenset(words)
        """Every word of the file (accent-stripped), for language identification."""
        self.vocabulary: frozenset[str] = frozenset(
            words
            | stop_words
            | {lemma for key in self.lemma for lemma in key}
            | {self._lemmas.lemma(w) for w in words}
        )
        self._fuzzy_choices = sorted(fuzzy_words)
        self.max_phrase_len = max((len(key) for key in self.surface), default=1)
        self._surface_prefixes = _prefixes(self.surface)
        self._lemma_prefixes = _prefixes(self.lemma)
        self.resolve: Callable[[Token], Resolved] = lru_cache(maxsize=50_000)(self._resolve)

    def _phrase_tokens(self, phrase: Phrase, owner: str) -> tuple[Token, ...]:
        tokens = self._analyzer.phrase_tokens(phrase.text)
        if not tokens:
            raise DataFileError(self._path, phrase.line, f"{owner}: {phrase.text!r} has no words")
        return tokens

    def _add(self, tokens: tuple[Token, ...], entry: Entry, phrase: Phrase) -> None:
        key = tuple(t.norm for t in tokens)
        existing = self.surface.get(key)
        if existing is not None and existing.intent != entry.intent:
            raise DataFileError(
                self._path,
                phrase.line,
                f"{phrase.text!r} is given for intent {entry.intent!r} and also for "
                f"{existing.intent!r} (line {self._owner_line.get(key)})",
            )
        if existing is None or (entry.keyword and not existing.keyword):
            self.surface[key] = entry
            self._owner_line[key] = phrase.line
        # Single-word lemmas only for keywords: "buenas" (greet) must not match "bueno".
        if len(tokens) > 1 or entry.keyword:
            lemma_key = tuple(self._token_lemma(t) for t in tokens)
            if lemma_key in self._lemma_ambiguous:
                return
            known = self.lemma.get(lemma_key)
            if known is not None and known.intent != entry.intent:
                del self.lemma[lemma_key]
                self._lemma_ambiguous.add(lemma_key)
            elif known is None or (entry.keyword and not known.keyword):
                self.lemma[lemma_key] = entry

    def _promote_examples_with_keywords(self) -> None:
        """Mark examples that contain one of their intent's keywords as keywords themselves.

        Otherwise the longest-match rule would hide the keyword "prueba gratis" inside the
        example "quiero una prueba gratis" and lose its strength in a longer message.
        """
        for table in (self.surface, self.lemma):
            keywords: dict[str, set[tuple[str, ...]]] = {}
            for key, entry in table.items():
                if entry.keyword:
                    keywords.setdefault(entry.intent, set()).add(key)
            for key, entry in list(table.items()):
                own = keywords.get(entry.intent)
                if entry.keyword or not own:
                    continue
                if any(
                    key[start:end] in own
                    for start in range(len(key))
                    for end in range(start + 1, len(key) + 1)
                ):
                    table[key] = Entry(entry.intent, keyword=True)

    def _token_lemma(self, token: Token) -> str:
        return self._lemmas.lemma(token.orth) if token.kind is TokenKind.WORD else token.norm

    def _weight(self, form: str) -> float:
        return self._config.stopword_weight if form in self.stop_words else 1.0

    def _resolve(self, token: Token) -> Resolved:
        """Match one token to the vocabulary: as typed, by lemma, de-doubled, then fuzzy."""
        norm = token.norm
        if token.kind is TokenKind.EMOJI:
            return Resolved(token, norm, norm, 1.0, False, 1.0 if norm in self.words else 0.0)
        if token.kind is not TokenKind.WORD:
            return Resolved(token, norm, norm, 1.0, False, 1.0)
        lemma = self._lemmas.lemma(token.orth)
        vocabulary = self.vocabulary
        if norm in vocabulary or lemma in vocabulary:
            return Resolved(token, norm, lemma, 1.0, False, self._weight(norm))
        config = self._config
        for single in dedouble_variants(norm):
            if single in vocabulary:
                return Resolved(
                    token,
                    single,
                    self._lemmas.lemma(single),
                    config.dedouble_factor,
                    False,
                    self._weight(single),
                )
        single = dedouble(norm)
        if len(norm) >= config.fuzzy_min_length and not self._lemmas.is_known(token.orth):
            for candidate in dict.fromkeys((norm, single)):
                match = process.extractOne(
                    candidate,
                    self._fuzzy_choices,
                    scorer=fuzz.ratio,
                    score_cutoff=config.fuzzy_cutoff,
                )
                if match is not None:
                    word, similarity = match[0], match[1]
                    return Resolved(
                        token,
                        word,
                        self._lemmas.lemma(word),
                        config.fuzzy_factor * similarity / 100.0,
                        True,
                        1.0,
                    )
        return Resolved(token, norm, lemma, 1.0, False, self._weight(norm))

    def find_spans(self, resolved: list[Resolved]) -> list[Span]:
        """Every indexed phrase occurring in ``resolved`` (overlaps included).

        A span is looked up by words first, then by lemmas (score times ``lemma_factor``);
        prefix sets stop the scan as soon as no phrase can continue.
        """
        spans: list[Span] = []
        count = len(resolved)
        lemma_factor = self._config.lemma_factor
        for start in range(count):
            forms: tuple[str, ...] | None = ()
            lemmas: tuple[str, ...] | None = ()
            score = 1.0
            fuzzy = False
            for end in range(start, min(count, start + self.max_phrase_len)):
                item = resolved[end]
                score = min(score, item.score)
                fuzzy = fuzzy or item.fuzzy
                if forms is not None:
                    forms = (*forms, item.form)
                    if forms not in self._surface_prefixes:
                        forms = None
                if lemmas is not None:
                    lemmas = (*lemmas, item.lemma)
                    if lemmas not in self._lemma_prefixes:
                        lemmas = None
                if forms is None and lemmas is None:
                    break
                by_form = self.surface.get(forms) if forms is not None else None
                by_lemma = self.lemma.get(lemmas) if lemmas is not None else None
                if by_form is not None:
                    if (
                        not by_form.keyword
                        and by_lemma is not None
                        and by_lemma.keyword
                        and by_lemma.intent == by_form.intent
                    ):
                        by_form = by_lemma  # "cancela" is an example, its lemma a keyword
                    spans.append(Span(start, end + 1, by_form, score, fuzzy))
                elif by_lemma is not None:
                    spans.append(Span(start, end + 1, by_lemma, score * lemma_factor, fuzzy))
        return spans


def _prefixes(keys: Iterable[tuple[str, ...]]) -> frozenset[tuple[str, ...]]:
    return frozenset(key[:length] for key in keys for length in range(1, len(key) + 1))
