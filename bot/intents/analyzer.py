"""Turning a message into clauses of normalized tokens, with spaCy's tokenizer per language."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache

from spacy.tokenizer import Tokenizer
from spacy.util import (
    compile_infix_regex,
    compile_prefix_regex,
    compile_suffix_regex,
    get_lang_class,
)
from spacy.vocab import create_vocab

from bot.intents.bounds import HEAD_ITEMS, TAIL_ITEMS, bound_sequence
from bot.intents.normalize import (
    is_emoji,
    prepare,
    remove_apostrophes,
    split_word,
    strip_accents,
)

# Punctuation that ends a clause. "¿" and "¡" open one; "?" and "¿" mark it as a question.
_BOUNDARIES = frozenset({",", ".", "!", "?", ";", ":", "¿", "¡", "...", "…", "(", ")"})
_BOUNDARY_CHARS = frozenset(",.!?;:¿¡…()")
_QUESTION_MARKS = frozenset({"?", "¿"})

MAX_SPACY_PIECE = 32
"""Longest piece given to spaCy's tokenizer. Its prefix and suffix searches are quadratic in
a piece's punctuation (64 apostrophes: 0.3 ms; 4,096 of ``!?.,;:``: 5 s), so longer pieces and
pieces with a run of ``MAX_SYMBOL_RUN`` + 1 symbols are read by a linear tokenizer instead."""
MAX_SYMBOL_RUN = 3
"""Longest run of consecutive symbols (neither letter, digit nor space) in a piece for spaCy."""
MAX_WORD = 32
"""Longer runs of letters and digits are one opaque token (no word is that long)."""
MAX_SPACY_PIECES = 6
"""Pieces of a message (per language) given to spaCy's tokenizer at most: the first ones that
need it, in order; later ones are read by the linear tokenizer. A piece of Latin-1 letters
only (``_LETTERS_RE``) that is no tokenizer exception ("dont", "Im", "xD") needs no spaCy: its
tokens are one word either way (shown on every dev, held-out and intent-file piece and on
generated ones; not so for every script: spaCy lowercases "İ" to "i", Python to "i̇"). Each
new piece costs spaCy about 25 µs; the dev and held-out sets never give more than 5 others.
A piece past the budget reads alike unless it is a contraction ("don't,") or an abbreviation
with a dot ("Sr.").
"""
_LETTERS_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]+")
_INITIALS_RE = re.compile(r"(?:[A-Z]\.)+")
"""A name's initials in a mixed-case message ("R.", "J.R."), when a capitalized word follows."""
_JOINED_NUMBER_RE = re.compile(r"(#?\d+(?:[-/.]\d+)+)([.,;:!?]*)")
"""An order, phone or reference number written in groups ("10-4432", "55/1023"): one number
(the groups, then any punctuation that ends the piece)."""
_NUMBER_SEPARATORS_RE = re.compile(r"[-/.]")
_NUMBER_STARTS = frozenset("0123456789#")
"""First characters of a piece that may be a number in groups, or follow "No."."""
_NUMBER_SIGN_RE = re.compile(r"(?:no|nº|n°|nro|núm|num)\.", re.IGNORECASE)
""""No." before a number abbreviates "number": its period ends no clause ("order no. 55")."""
_SYMBOL_RUN_RE = re.compile(rf"[\W_]{{{MAX_SYMBOL_RUN + 1}}}")
_RUN_RE = re.compile(r"[^\W_]+|[\W_]+")
_URL_STARTS = ("http://", "https://", "www.")


class TokenKind(Enum):
    """What a token is, which decides how it is matched and weighted."""

    WORD = "word"
    EMOJI = "emoji"
    NUMBER = "number"
    OTHER = "other"  # email address, URL

    # Members are singletons: hash them by identity, in C (Enum's own hash is Python code,
    # and every token lookup in the per-word caches hashes one).
    __hash__ = object.__hash__


@dataclass(frozen=True, slots=True)
class Token:
    """One normalized word of a message.

    Attributes:
        orth: Lowercase form with accents, as typed (after abbreviation expansion).
        norm: ``orth`` without accents; the form that is matched.
        kind: Word, emoji, number or other (email, URL).
        capital: The user wrote it with a capital first letter in a message that is not all
            capitals ("me llamo Chao"): a hint of a proper name.
    """

    orth: str
    norm: str
    kind: TokenKind
    capital: bool = False


@dataclass(frozen=True, slots=True)
class Clause:
    """Tokens between two clause boundaries (``,`` ``.`` ``!`` ``?`` ``¿``, a newline).

    Attributes:
        tokens: The clause's tokens, in order; never empty.
        is_question: True when the clause ends with ``?`` or opens with ``¿``.
    """

    tokens: tuple[Token, ...]
    is_question: bool


def spacy_tokenizer(language: str) -> Tokenizer:
    """spaCy's rule-based tokenizer of ``language`` (``"es"``, ``"en"``, ``"pt"``): the one
    ``spacy.blank(language)`` builds (the language's exceptions, prefixes, suffixes, infixes
    and URL matcher, over a vocabulary with its lexical attributes), without the rest of a
    pipeline: about half the time and 0.6 MiB less per language. On the 20,000 distinct
    pieces of the labelled sets and intent files its tokens are those of ``spacy.blank``.

    Raises:
        ImportError: spaCy has no such language.
    """
    defaults = get_lang_class(language).Defaults
    prefixes, suffixes, infixes = defaults.prefixes, defaults.suffixes, defaults.infixes
    return Tokenizer(
        create_vocab(language, defaults),
        rules=defaults.tokenizer_exceptions,
        prefix_search=compile_prefix_regex(prefixes).search if prefixes else None,
        suffix_search=compile_suffix_regex(suffixes).search if suffixes else None,
        infix_finditer=compile_infix_regex(infixes).finditer if infixes else None,
        token_match=defaults.token_match,
        url_match=defaults.url_match,
    )


class Analyzer:
    """Tokenizes prepared text (see :func:`bot.intents.normalize.prepare`) for one language.

    Uses spaCy's rule-based tokenizer of the language (:func:`spacy_tokenizer`), so
    contractions follow the language's rules (``"don't"`` → ``do not`` in English), then
    expands chat abbreviations.
    """

    def __init__(
        self,
        language: str,
        abbreviations: Mapping[str, str],
        vocab_limit: int = 200_000,
        piece_cache_size: int = 10_000,
    ) -> None:
        """Create the tokenizer.

        Args:
            language: spaCy language code (``"es"``, ``"en"``, ``"pt"``).
            abbreviations: Shorthand (lowercase, no accents) → expansion, e.g. ``xq`` →
                ``porque``; the expansion may hold several words. A shorthand may also be
                one emoji, read as another (``🚫`` → ``❌``) or as words (``👍`` → ``ok``).
            vocab_limit: spaCy keeps every new word it sees (numbers, emails, names) in its
                vocabulary; past this many entries the tokenizer is rebuilt (about 0.05 s) so a
                long-running service does not grow without bound.
            piece_cache_size: Whitespace-free pieces of text ("hola,", "don't") whose tokens
                are kept (LRU; about 0.6 kB each, so 6 MB when full).
        """
        self.language = language
        self._vocab_limit = vocab_limit
        self._tokenizer = spacy_tokenizer(language)
        self._unnamed = frozenset(
            strip_accents(word)
            for word in get_lang_class(language).Defaults.stop_words
            if len(word) == 1
        )
        """One-letter function words ("I", "y", "e"): written with a capital, no hint of a
        name (English always capitalizes "I": "but I'd like to stop here")."""
        self._abbreviations = {
            strip_accents(prepare(short).strip()): _expansion_tokens(long)
            for short, long in abbreviations.items()
        }
        self._exceptions = frozenset(
            rule
            for rule in self._tokenizer.rules or ()
            if strip_accents(rule.lower()) not in self._abbreviations
        )
        """The tokenizer's special cases ("dont" → do not): the only letter-only pieces it
        does not read as one word. A piece the file's abbreviations expand is theirs
        ("im" → i am, where spaCy reads "i" and "m")."""
        self._piece_cache_size = piece_cache_size
        self._piece: Callable[[str, bool], tuple[str | tuple[Token, ...], ...]] = lru_cache(
            maxsize=piece_cache_size
        )(self._piece_items)

    def __getstate__(self) -> dict[str, object]:
        """Pickled without spaCy's pipeline and the piece cache (:mod:`~bot.intents.prebuilt`)."""
        state = self.__dict__.copy()
        del state["_tokenizer"], state["_piece"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """A fresh tokenizer (about 0.1 s) and an empty piece cache."""
        self.__dict__.update(state)
        self._tokenizer = spacy_tokenizer(self.language)
        self._piece = lru_cache(maxsize=self._piece_cache_size)(self._piece_items)

    def analyze(self, prepared: str) -> tuple[Clause, ...]:
        """Split prepared text into clauses of tokens.

        spaCy's tokenizer splits text on whitespace first and tokenizes each piece on its own,
        so each piece's tokens are cached (see :meth:`_piece`): a message of known words costs
        a few dict lookups, and only new pieces (a name, an email) go through spaCy: at most
        ``MAX_SPACY_PIECES`` per call, whatever is cached, so the result never depends on
        what came before.

        Args:
            prepared: Output of :func:`~bot.intents.normalize.prepare`, with or without
                ``keep_case``; tokens come out lowercase either way, marked ``capital`` when
                written with a capital in a message that has lowercase letters too.

        Returns:
            Non-empty clauses in order; an empty tuple for text without words or emoji.
        """
        clauses: list[Clause] = []
        current: list[Token] = []
        question = False
        cased = prepared != prepared.lower() and prepared != prepared.upper()
        piece_items = self._piece
        exceptions = self._exceptions
        spacy_left = MAX_SPACY_PIECES
        for number, line in enumerate(prepared.split("\n")):
            if number:  # a line break ends a clause
                question = self._close(clauses, current, question)
            pieces = line.split()
            for number_in_line, typed in enumerate(pieces):
                if (
                    cased
                    and _INITIALS_RE.fullmatch(typed)
                    and typed != "I."
                    and number_in_line + 1 < len(pieces)
                    and pieces[number_in_line + 1][:1].isupper()
                ):  # "R. Patel", "J.R. Smith": a name's initials, no clause end, no "are"
                    current.extend(
                        Token(c.lower(), c.lower(), TokenKind.WORD, True) for c in typed if c != "."
                    )
                    continue
                first = typed[0]
                joined = _JOINED_NUMBER_RE.fullmatch(typed) if first in _NUMBER_STARTS else None
                if joined:  # "10-4432": one number, not two words the message leaves unsaid
                    typed = _NUMBER_SEPARATORS_RE.sub("", joined.group(1)) + joined.group(2)
                elif (
                    first in "nN"
                    and _NUMBER_SIGN_RE.fullmatch(typed)
                    and number_in_line + 1 < len(pieces)
                    and pieces[number_in_line + 1][:1] in _NUMBER_STARTS
                ):
                    typed = typed[:-1]  # "order no. 55-1023": no clause end, no trailing "no"
                # spaCy's tokenizer exceptions are case-sensitive ("dont" and "Dont" split,
                # "DONT" does not): an all-capitals piece is read lowercased, its capital kept
                piece = typed.lower() if typed.isupper() else typed
                if len(piece) > MAX_SPACY_PIECE or _SYMBOL_RUN_RE.search(piece):
                    items = self._linear_items(piece, cased)
                elif _LETTERS_RE.fullmatch(piece) and piece not in exceptions:
                    items = piece_items(piece, cased)  # one word, no spaCy
                elif spacy_left:
                    spacy_left -= 1
                    items = piece_items(piece, cased)
                else:
                    items = self._linear_items(piece, cased)
                if cased and piece is not typed and typed[:1].isupper():
                    items = _capital_first(items, self._unnamed)
                for item in items:
                    if isinstance(item, str):  # a clause boundary
                        if current or item not in _QUESTION_MARKS:
                            question = question or "?" in item
                            question = self._close(clauses, current, question)
                        question = question or item == "¿"
                    else:
                        current.extend(item)
        self._close(clauses, current, question)
        return tuple(clauses)

    def _piece_items(self, piece: str, cased: bool) -> tuple[str | tuple[Token, ...], ...]:
        """:meth:`_tokenize_piece`, without spaCy for a piece of Latin-1 letters only that is
        no tokenizer exception (spaCy reads it as one token, its norm its lowercase form)."""
        if _LETTERS_RE.fullmatch(piece) and piece not in self._exceptions:
            return self._linear_items(piece, cased)
        return self._tokenize_piece(piece, cased)

    def _tokenize_piece(self, piece: str, cased: bool) -> tuple[str | tuple[Token, ...], ...]:
        """What one whitespace-free piece of a message is made of, in order: boundary
        punctuation (a ``str``) and the tokens of each other spaCy token (a tuple)."""
        tokenizer = self._tokenizer
        items: list[str | tuple[Token, ...]] = []
        for spacy_token in tokenizer(piece):
            text = spacy_token.text
            if text in _BOUNDARIES or (spacy_token.is_punct and set(text) <= {".", "!", "?"}):
                items.append(text)
                continue
            if spacy_token.like_email or spacy_token.like_url:
                items.append((Token(spacy_token.lower_, spacy_token.lower_, TokenKind.OTHER),))
                continue
            tokens: list[Token] = []
            if is_emoji(text):
                for char in text:
                    tokens.extend(self._abbreviations.get(char) or (_emoji_token(char),))
                items.append(tuple(tokens))
                continue
            capital = cased and text[:1].isupper()
            text = spacy_token.lower_
            norm = spacy_token.norm_
            if norm != text and norm.isalpha():
                text = norm  # tokenizer exception: "n't" → "not", "ca" → "can"
            for word in split_word(remove_apostrophes(text)):
                self._append_word(tokens, word, capital)
                capital = False
            items.append(tuple(tokens))
        if len(tokenizer.vocab) > self._vocab_limit:
            self._tokenizer = spacy_tokenizer(self.language)
        return tuple(items)

    def _linear_items(self, piece: str, cased: bool) -> tuple[str | tuple[Token, ...], ...]:
        """Like :meth:`_tokenize_piece`, in one linear pass, for a piece spaCy would be slow on.

        An email address or URL is one ``OTHER`` token (cut to ``MAX_WORD`` characters); else
        each run of letters and digits is a word (an ``OTHER`` token past ``MAX_WORD``) and
        each run of symbols is at most two clause boundaries: its first boundary mark ("?"
        when it has one, so the clause stays a question) and a "¿" that opens the next.
        """
        items: list[str | tuple[Token, ...]] = []
        lowered = piece.lower()
        if "@" in piece or lowered.startswith(_URL_STARTS):
            address = lowered.rstrip("".join(_BOUNDARY_CHARS))[:MAX_WORD]
            items.append((Token(address, address, TokenKind.OTHER),))
            _append_boundaries(items, piece[len(piece.rstrip("".join(_BOUNDARY_CHARS))) :])
            return tuple(items)
        for match in _RUN_RE.finditer(piece):
            run = match.group()
            if not run[0].isalnum():
                _append_boundaries(items, run)
            elif len(run) > MAX_WORD:
                word = run[:MAX_WORD].lower()
                items.append((Token(word, word, TokenKind.OTHER),))
            else:
                tokens: list[Token] = []
                self._append_word(tokens, run.lower(), cased and run[:1].isupper())
                items.append(tuple(tokens))
        return tuple(items)

    def phrase_tokens(self, text: str) -> tuple[Token, ...]:
        """All tokens of a raw phrase (an example, a keyword), clause boundaries dropped."""
        return tuple(token for clause in self.analyze(prepare(text)) for token in clause.tokens)

    def _append_word(self, tokens: list[Token], word: str, capital: bool) -> None:
        norm = strip_accents(word)
        expansion = self._abbreviations.get(norm)
        if expansion is not None:
            tokens.extend(expansion)
            return
        if word.isdigit():
            tokens.append(Token(word, norm, TokenKind.NUMBER))
        else:
            tokens.append(Token(word, norm, TokenKind.WORD, capital and norm not in self._unnamed))

    @staticmethod
    def _close(clauses: list[Clause], current: list[Token], question: bool) -> bool:
        """Store the current clause (if any) and start a new one; returns the reset flag."""
        if current:
            clauses.append(Clause(tuple(current), question))
            current.clear()
            return False
        return question


def _append_boundaries(items: list[str | tuple[Token, ...]], symbols: str) -> None:
    """The clause boundaries a run of symbols stands for (see :meth:`Analyzer.analyze`)."""
    marks = [char for char in dict.fromkeys(symbols) if char in _BOUNDARY_CHARS]
    if not marks:
        return
    items.append("?" if "?" in marks else marks[0])
    if "¿" in marks and marks[0] != "¿":
        items.append("¿")


def _capital_first(
    items: tuple[str | tuple[Token, ...], ...], unnamed: frozenset[str]
) -> tuple[str | tuple[Token, ...], ...]:
    """``items`` with their first word marked ``capital`` (a piece typed in capitals), unless
    it is one of ``unnamed`` (English "I")."""
    for n, item in enumerate(items):
        if isinstance(item, tuple) and item and item[0].kind is TokenKind.WORD:
            if item[0].norm in unnamed:
                return items
            first = replace(item[0], capital=True)
            return (*items[:n], (first, *item[1:]), *items[n + 1 :])
    return items


def _emoji_token(char: str) -> Token:
    return Token(char, char, TokenKind.EMOJI)


def _expansion_tokens(text: str) -> tuple[Token, ...]:
    """Tokens of an abbreviation's expansion: emoji, and plain words split on blanks and
    punctuation."""
    tokens: list[Token] = []
    for piece in prepare(text).split():
        if is_emoji(piece):
            tokens.extend(_emoji_token(char) for char in piece)
        else:
            tokens.extend(Token(w, strip_accents(w), TokenKind.WORD) for w in split_word(piece))
    return tuple(tokens)


def bounded_clauses(clauses: tuple[Clause, ...]) -> tuple[Clause, ...]:
    """The clauses of the message's first and last tokens (see
    :func:`~bot.intents.bounds.bound_sequence`): a piece like ``a-b-c-d`` is several tokens, and
    each new token may cost a typo search."""
    if sum(len(clause.tokens) for clause in clauses) <= HEAD_ITEMS + TAIL_ITEMS:
        return clauses
    numbered = [(n, token) for n, clause in enumerate(clauses) for token in clause.tokens]
    kept: dict[int, list[Token]] = {}
    for n, token in bound_sequence(numbered):
        kept.setdefault(n, []).append(token)
    return tuple(
        Clause(tuple(tokens), clauses[n].is_question) for n, tokens in sorted(kept.items())
    )
