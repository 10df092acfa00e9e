"""Guard word lists (negations, question openers, conditionals, deferrals) and their matching."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from bot.intents.analyzer import Analyzer, Token
from bot.intents.data import Phrase


class GuardWords:
    """Guard phrases (negations, question openers, conditionals) matched with an accent rule.

    A typed word without accents matches a listed word with or without them (``"quizas"`` →
    ``quizás``), but a typed accent must match: ``"sí"`` (yes) never matches ``si`` (if).
    """

    def __init__(self, phrases: Iterable[Phrase], analyzer: Analyzer) -> None:
        """Analyze each phrase into words with the language's tokenizer."""
        self._phrases: list[tuple[Token, ...]] = []
        self._by_last: dict[str, list[tuple[Token, ...]]] = {}
        self._by_start: dict[tuple[str, ...], list[tuple[Token, ...]]] = {}
        """Phrases by their first word and, when they have more, their second: a phrase
        matches only where both words do (:meth:`starts_at` tries no other)."""
        for phrase in phrases:
            tokens = analyzer.phrase_tokens(phrase.text)
            if tokens:
                self._phrases.append(tokens)
                self._by_last.setdefault(tokens[-1].norm, []).append(tokens)
                start = tuple(token.norm for token in tokens[:2])
                self._by_start.setdefault(start, []).append(tokens)
        for phrases_of in self._by_start.values():
            phrases_of.sort(key=len, reverse=True)  # the longest match first (starts_at)
        self._firsts = frozenset(start[0] for start in self._by_start)

    @property
    def firsts(self) -> frozenset[str]:
        """The first words of the phrases, accent-stripped: a token whose ``norm`` is not
        one starts no phrase."""
        return self._firsts

    @property
    def words(self) -> frozenset[str]:
        """All words of all phrases, accent-stripped."""
        return frozenset(token.norm for phrase in self._phrases for token in phrase)

    def starts_at(self, tokens: tuple[Token, ...], index: int) -> int:
        """Length of the longest guard phrase starting at ``tokens[index]``, 0 if none (and
        at or past the end: a clause of fillers only has no word after them)."""
        if index >= len(tokens) or tokens[index].norm not in self._firsts:
            return 0
        first = tokens[index].norm
        if index + 1 < len(tokens):  # phrases of two words or more, the longest first
            for phrase in self._by_start.get((first, tokens[index + 1].norm), ()):
                end = index + len(phrase)
                if end <= len(tokens) and all(
                    _guard_match(t, g) for t, g in zip(tokens[index:end], phrase, strict=True)
                ):
                    return len(phrase)
        single = self._by_start.get((first,), ())
        return 1 if any(_guard_match(tokens[index], phrase[0]) for phrase in single) else 0

    def positions(self, tokens: tuple[Token, ...]) -> frozenset[int]:
        """The positions of ``tokens`` inside a guard phrase (each the longest starting at
        its first word)."""
        return frozenset(
            j
            for i in range(len(tokens))
            if tokens[i].norm in self._firsts
            for j in range(i, i + self.starts_at(tokens, i))
        )

    def first_at(
        self, tokens: tuple[Token, ...], start: int = 0, end: int | None = None
    ) -> int | None:
        """Position of the first guard phrase starting in ``tokens[start:end]`` (it may run
        past ``end``), ``None`` if none."""
        stop = len(tokens) if end is None else min(end, len(tokens))
        firsts = self._firsts  # a word no phrase starts with costs no call
        return next(
            (
                i
                for i in range(max(start, 0), stop)
                if tokens[i].norm in firsts and self.starts_at(tokens, i)
            ),
            None,
        )

    def anywhere(self, tokens: tuple[Token, ...], start: int = 0, end: int | None = None) -> bool:
        """True when a guard phrase starts at one of ``tokens[start:end]`` (it may run past
        ``end``)."""
        return self.first_at(tokens, start, end) is not None

    def ends_at(self, tokens: tuple[Token, ...], index: int) -> bool:
        """True when a guard phrase ends at ``tokens[index]`` (inclusive)."""
        for phrase in self._by_last.get(tokens[index].norm, ()):
            start = index - len(phrase) + 1
            if start >= 0 and all(
                _guard_match(t, g) for t, g in zip(tokens[start : index + 1], phrase, strict=True)
            ):
                return True
        return False


def _guard_match(typed: Token, listed: Token) -> bool:
    if typed.orth == listed.orth:
        return True
    return typed.orth.isascii() and typed.norm == listed.norm


def opens_filler(fillers: AbstractSet[int], position: int) -> bool:
    """True when a filler of several words covers ``position`` and the word after it: its
    conditional is politeness ("if that's alright with you", "si no es molestia"), while
    "si" alone may be "sí" typed without its accent."""
    return position in fillers and position + 1 in fillers


def in_a_run(negations: GuardWords, tokens: tuple[Token, ...], position: int, end: int) -> bool:
    """True when a negation ends at ``position`` beside another one before ``end`` ("no no
    no ...": a run that stresses what follows)."""
    return negations.ends_at(tokens, position) and (
        (position > 0 and negations.ends_at(tokens, position - 1))
        or (position + 1 < end and negations.ends_at(tokens, position + 1))
    )
