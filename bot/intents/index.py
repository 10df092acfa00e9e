"""Dictionary index of one language's phrases, and resolution of user words against it.

Examples and keywords are stored as tuples of normalized words and of lemmas, so that a span
of a message is matched with one dict lookup (:mod:`bot.intents.spans` finds them). A word is
resolved as typed, by lemma, de-doubled, without a diminutive ending, or as the correction
of a misspelling (:mod:`bot.intents.typos`); the types handed out are in
:mod:`bot.intents.matches`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from functools import lru_cache

from bot.errors import DataFileError
from bot.intents.analyzer import Analyzer, Token, TokenKind
from bot.intents.config import ScoringConfig
from bot.intents.data import LanguageData, Phrase
from bot.intents.guards import GuardWords
from bot.intents.lemmas import LemmaLookup
from bot.intents.matches import FILLER, Entry, Resolved, Span
from bot.intents.normalize import dedouble, dedouble_variants
from bot.intents.result import NONE_INTENT
from bot.intents.spans import PhraseFinder
from bot.intents.tense import is_past_form, tells_past
from bot.intents.typos import TypoSearch
from bot.intents.wordlists import WordLists

__all__ = ["FILLER", "Entry", "PhraseIndex", "Resolved", "Span"]

GOODBYE_OBJECT_WINDOW = 3
"""Words after a goodbye phrase where a business object makes it about that object ("that's
all for the booking"); one said before it ("the technician fixed the line, thanks, bye") is
what the user thanks for."""

_MEMOIZED = ("resolve", "search", "_typo_of", "lemma_of", "compound", "past_form")
"""What :meth:`PhraseIndex._memoize` sets: dropped when pickled, set again when loaded."""


class PhraseIndex(WordLists):
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
        self.lemma_of: Callable[[str], str] = lemmas.lemma
        """The lemma of a word (accent-stripped), as the index reads it."""
        self._config = config
        self.stop_words = stop_words
        self.surface: dict[tuple[str, ...], Entry] = {}
        self.lemma: dict[tuple[str, ...], Entry] = {}
        self._lemma_ambiguous: set[tuple[str, ...]] = set()
        self._phrase_of_lemmas: dict[tuple[str, ...], tuple[Token, ...]] = {}
        """The phrase behind each key of several lemmas (for :meth:`_lemma_agrees`)."""
        self._owner_line: dict[tuple[str, ...], int | None] = {}
        words: set[str] = set()
        fuzzy_words: set[str] = set()
        phrase_words: set[str] = set()
        listed: set[str] = set()

        for spec in data.intents.values():
            for phrase, keyword in [(p, True) for p in spec.keywords] + [
                (p, False) for p in spec.examples
            ]:
                tokens = self._phrase_tokens(phrase, f"intent {spec.name!r}")
                self._add(tokens, Entry(spec.name, keyword, phrase.text), phrase)
                words.update(t.norm for t in tokens)
                phrase_words.update(t.norm for t in tokens if t.kind is TokenKind.WORD)
                if spec.name != NONE_INTENT:
                    listed.update(t.orth for t in tokens)
                fuzzy_words.update(
                    t.norm
                    for t in tokens
                    if t.kind is TokenKind.WORD
                    and len(t.norm) >= config.typo_min_length
                    # short stop words are too close to too many words ("nada", "todo")
                    and (t.norm not in stop_words or len(t.norm) > config.fuzzy_min_length)
                )
        self._context: dict[tuple[str, ...], list[Entry]] = {}
        for spec in data.intents.values():
            if spec.name == NONE_INTENT:
                continue
            for phrase in spec.context:
                tokens = self._phrase_tokens(phrase, f"intent {spec.name!r} context")
                entry = Entry(spec.name, keyword=False, text=phrase.text, context=True)
                keys = {tuple(t.norm for t in tokens), tuple(self._token_lemma(t) for t in tokens)}
                for key in keys:
                    entries = self._context.setdefault(key, [])
                    if all(known.intent != spec.name for known in entries):
                        entries.append(entry)
                words.update(t.norm for t in tokens)
        for phrase in data.fillers:
            tokens = self._phrase_tokens(phrase, "fillers")
            key = tuple(t.norm for t in tokens)
            self.surface.setdefault(key, Entry(FILLER, keyword=False, text=phrase.text))
            words.update(key)
            fuzzy_words.update(w for w in key if len(w) >= config.fuzzy_min_length)

        WordLists.__init__(self, data, analyzer, lemmas)
        self.objects = {
            spec.name: GuardWords(spec.objects, analyzer)
            for spec in data.intents.values()
            if spec.objects
        }
        """Author intent → the business objects it is about (its ``objects``)."""
        self.pronouns = frozenset(
            t.norm for p in data.pronouns for t in self._phrase_tokens(p, "pronouns")
        )
        self._listed: frozenset[str] = frozenset(listed)
        """Words of the intents' examples and keywords as written, accents kept ("me
        arrepentí"; anti-examples left out)."""
        guards = (self.negations, self.question_words, self.conditionals, self.deferrals)
        for guard in (*guards, self.past, self.request_openers, self.business_objects):
            words.update(guard.words)
        for expansion in data.abbreviations.values():
            words.update(t.norm for t in analyzer.phrase_tokens(expansion.text))

        self._promote_examples_with_keywords()
        self._lemma_checks(data)
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
        self._typos = TypoSearch(
            data.language,
            fuzzy_words,
            phrase_words,
            stop_words,
            self.vocabulary,
            self._lemmas,
            config,
        )
        self.max_phrase_len = max((len(key) for key in self.surface), default=1)
        self._finder = PhraseFinder(
            self.surface, self.lemma, self._context, config.lemma_factor, self._lemma_agrees
        )
        self._bigrams = frozenset(pair for key in self.surface for pair in itertools.pairwise(key))
        self._memoize()

    def _memoize(self) -> None:
        """The per-token caches, empty, and the aliases of the typo and lemma lookups' own."""
        self.resolve: Callable[[Token], Resolved] = lru_cache(maxsize=50_000)(self._resolve)
        """A token matched to the vocabulary without a typo search (see :meth:`search`)."""
        self.search: Callable[[Token], Resolved | None] = lru_cache(maxsize=20_000)(self._search)
        self._typo_of = self._typos.typo_of
        """:meth:`TypoSearch.typo_of`: language identification and scoring share it."""
        self.lemma_of = self._lemmas.lemma
        self.compound: Callable[[Token], tuple[Token, Token] | None] = lru_cache(maxsize=10_000)(
            self._compound
        )
        self.past_form: Callable[[str, str, str | None], bool] = lru_cache(maxsize=10_000)(
            self._past_form
        )

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the caches of :meth:`_memoize` (:mod:`~bot.intents.prebuilt`)."""
        state = self.__dict__.copy()
        for name in _MEMOIZED:
            del state[name]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """The index as pickled, with empty caches."""
        self.__dict__.update(state)
        self._memoize()

    def _past_form(self, orth: str, lemma: str, before: str | None) -> bool:
        """True when a phrase word typed as ``orth`` (lemma ``lemma``, after ``before``) is a
        past form that no example or keyword lists ("cancelé", not "me arrepentí"); see
        :func:`~bot.intents.tense.is_past_form`."""
        return orth not in self._listed and is_past_form(self.language, orth, lemma, before)

    def _phrase_tokens(self, phrase: Phrase, owner: str) -> tuple[Token, ...]:
        tokens = self._analyzer.phrase_tokens(phrase.text)
        if not tokens:
            raise DataFileError(
                self._path, phrase.line, f"{owner}: {phrase.text!r} has no words", phrase.column
            )
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
                phrase.column,
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
                if len(tokens) > 1:
                    self._phrase_of_lemmas[lemma_key] = tokens

    def _lemma_checks(self, data: LanguageData) -> None:
        """What :meth:`_lemma_agrees` needs, by entry (taken once examples are promoted to
        keywords, which replaces their entries): each phrase's words, and a farewell's (a
        goodbye's) (position, word) of the past forms that thank for what was done ("me
        *ajudou*")."""
        self._forms: dict[Entry, tuple[str, ...]] = {}
        self._told_past: dict[Entry, tuple[tuple[int, str], ...]] = {}
        self._kept: dict[Entry, tuple[tuple[int, str], ...]] = {}
        for lemma_key, tokens in self._phrase_of_lemmas.items():
            entry = self.lemma.get(lemma_key)
            if entry is None:
                continue  # made ambiguous by another intent's phrase
            self._forms[entry] = tuple(t.norm for t in tokens)
            kept = tuple((i, t.norm) for i, t in enumerate(tokens) if t.norm in self.pronouns)
            if kept:
                self._kept[entry] = kept
            spec = data.intents.get(entry.intent)
            if spec is None or not spec.farewell:
                continue
            past = tuple(
                (i, t.norm)
                for i, t in enumerate(tokens)
                if t.kind is TokenKind.WORD
                and tells_past(self.language, t.orth, self._token_lemma(t))
            )
            if past:
                self._told_past[entry] = past

    def _lemma_agrees(self, entry: Entry, words: list[Resolved]) -> bool:
        """Whether a phrase matched by lemmas stands for ``words``: a phrase of several
        words shares one word with them as written (the tables read "o verde" as "nos
        vemos": "o" and "nos" → "o", "verde" → "ver") and keeps its pronouns (the file's
        ``pronouns``: "lo dejo" drops it, "los dejo" says goodbye); a goodbye phrase that
        thanks for what was done is said in the past there too ("me ajuda" asks for help,
        "me ajudou" thanks for it; "me ayudaste" still matches "me ayudó")."""
        forms = self._forms.get(entry)
        if forms is not None and all(w.form != f for w, f in zip(words, forms, strict=True)):
            return False
        if any(words[i].form != word for i, word in self._kept.get(entry, ())):
            return False
        for position, word in self._told_past.get(entry, ()):
            item = words[position]
            if item.form != word and not tells_past(self.language, item.token.orth, item.lemma):
                return False
        return True

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
                    table[key] = Entry(entry.intent, True, entry.text)

    def _token_lemma(self, token: Token) -> str:
        return self._lemmas.lemma(token.orth) if token.kind is TokenKind.WORD else token.norm

    def _weight(self, form: str) -> float:
        return self._config.stopword_weight if form in self.stop_words else 1.0

    def _resolve(self, token: Token) -> Resolved:
        """Match one token to the vocabulary: as typed, by lemma, de-doubled, without a
        diminutive ending ("lueguito"), by sound; ``how="unknown"`` when none of these
        matches (then :meth:`search` may find it by edits)."""
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
                    "dedouble",
                )
        for base in self._lemmas.diminutive_bases(norm):
            if base in vocabulary:
                return Resolved(
                    token,
                    base,
                    self._lemmas.lemma(base),
                    config.dedouble_factor,
                    False,
                    self._weight(base),
                    "diminutive",
                )
        if len(norm) >= config.typo_min_length:
            word = self._typos.by_sound(norm)
            if word is not None:
                return Resolved(
                    token, word, self._lemmas.lemma(word), config.sound_factor, True, 1.0, "sound"
                )
        return Resolved(token, norm, lemma, 1.0, False, self._weight(norm), "unknown")

    def farewell_window(
        self, tokens: tuple[Token, ...], end: int, free: Iterable[int]
    ) -> list[int]:
        """The positions of ``free`` where a business object makes the goodbye phrase ending
        at ``end`` about that object ("that's all for the booking", "chau suscripción"): the
        :data:`GOODBYE_OBJECT_WINDOW` words after it; none when one of the ``meetings``
        words follows it or ends it ("see you at the show", "até o show", "hasta la próxima
        clase": where the user will meet the business, a goodbye)."""
        if self.meetings.starts_at(tokens, end) or self.meetings.ends_at(tokens, end - 1):
            return []
        return [i for i in free if end <= i < end + GOODBYE_OBJECT_WINDOW]

    def partial_at(self, tokens: tuple[Token, ...], i: int) -> bool:
        """True when one of the ``partials`` starts at ``tokens[i]`` and a word follows it:
        the part of what was asked for ("cancela só a batata"); "stop here only" names none."""
        n = self.partials.starts_at(tokens, i)
        return bool(n) and any(t.kind is TokenKind.WORD for t in tokens[i + n :])

    def as_typed(self, token: Token) -> Resolved:
        """``token`` unknown, as typed, without looking it up (past a message's budget)."""
        return Resolved(
            token, token.norm, token.norm, 1.0, False, self._weight(token.norm), "unknown"
        )

    def searchable(self, item: Resolved) -> bool:
        """True when :meth:`search` may correct ``item``: an unknown word long enough for a
        typo search (about 25 µs per language, so a message gets a budget of them)."""
        return (
            item.how == "unknown"
            and item.token.kind is TokenKind.WORD
            and len(item.token.norm) >= self._config.typo_min_length
        )

    def _search(self, token: Token) -> Resolved | None:
        """The intent word an unknown ``token`` is a misspelling of (by edits, see
        :class:`~bot.intents.typos.TypoSearch`), or ``None``; a real word of the language
        ("canela") is not one."""
        if self._lemmas.is_known(token.orth):
            return None
        norm = token.norm
        for candidate in dict.fromkeys((norm, dedouble(norm))):
            corrected = self._typo_of(candidate)
            if corrected is not None:
                word, edits = corrected
                return Resolved(
                    token,
                    word,
                    self._lemmas.lemma(word),
                    self._config.typo_factor**edits,
                    True,
                    1.0,
                    "typo",
                )
        return None

    def resolve_fully(self, token: Token) -> Resolved:
        """:meth:`resolve`, then a typo search for an unknown word (no budget)."""
        item = self.resolve(token)
        if self.searchable(item):
            return self.search(token) or item
        return item

    def corrects(self, word: str) -> bool:
        """True when ``word`` (lowercase, accent-stripped) is a misspelling of a word of the
        language's phrases: by sound, by edits or a diminutive ("canselar", "hlelo")."""
        how = self.resolve_fully(Token(word, word, TokenKind.WORD)).how
        return how in ("sound", "typo", "diminutive")

    def _compound(self, token: Token) -> tuple[Token, Token] | None:
        """Split an unknown word made of two neighbour words of some phrase: "goodnight" →
        good night, "seeya" → see ya, "thankyou" → thank you; ``None`` if it is not one."""
        word = token.norm
        if token.kind is not TokenKind.WORD or len(word) < 4 or not word.isalpha():
            return None
        for cut in range(2, len(word) - 1):
            if (word[:cut], word[cut:]) in self._bigrams:
                first = Token(word[:cut], word[:cut], TokenKind.WORD, token.capital)
                return first, Token(word[cut:], word[cut:], TokenKind.WORD)
        return None

    def find_spans(self, resolved: list[Resolved]) -> list[Span]:
        """Every indexed phrase occurring in ``resolved`` (overlaps included; see
        :meth:`bot.intents.spans.PhraseFinder.find_spans`)."""
        return self._finder.find_spans(resolved)

    def find_context(self, resolved: list[Resolved], intents: Iterable[str]) -> list[Span]:
        """Context phrases of ``intents`` occurring in ``resolved`` (overlaps included; see
        :meth:`bot.intents.spans.PhraseFinder.find_context`)."""
        return self._finder.find_context(resolved, intents)
