"""Finding phrases in a message: the index's phrases as tries of words (and of lemmas),
walked word by word from each position, so a scan ends as soon as no phrase can continue;
context phrases by their prefixes. And choosing among overlapping finds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.intents.matches import FILLER, Entry, Resolved, Span


class PhraseFinder:
    """The phrases of one language, ready to be found in a message.

    Args:
        surface: Phrases by their words.
        lemma: Phrases by their lemmas.
        context: Context phrases (by words and by lemmas), each with its intents' entries.
        lemma_factor: Score factor of a phrase matched through lemmas.
        agrees: Whether a phrase matched through lemmas may stand for the message's words
            (``(entry, words) -> bool``; the tense of a goodbye's thanks); all by default.
    """

    def __init__(
        self,
        surface: Mapping[tuple[str, ...], Entry],
        lemma: Mapping[tuple[str, ...], Entry],
        context: Mapping[tuple[str, ...], list[Entry]],
        lemma_factor: float,
        agrees: Callable[[Entry, list[Resolved]], bool] | None = None,
    ) -> None:
        self._lemma_factor = lemma_factor
        self._agrees = agrees
        self._surface_trie = _trie(surface)
        self._lemma_trie = _trie(lemma)
        self._context = context
        self._context_prefixes = _prefixes(context)
        self._context_first = frozenset(key[0] for key in context)
        self._max_context_len = max((len(key) for key in context), default=0)

    def find_spans(self, resolved: list[Resolved]) -> list[Span]:
        """Every indexed phrase occurring in ``resolved`` (overlaps included).

        A span is looked up by words first, then by lemmas (score times ``lemma_factor``);
        both are walked word by word down a trie, which ends the scan as soon as no phrase
        can continue.
        """
        spans: list[Span] = []
        count = len(resolved)
        lemma_factor = self._lemma_factor
        surface_root = self._surface_trie
        lemma_root = self._lemma_trie
        for start, first in enumerate(resolved):
            by_forms = surface_root.get(first.form)
            by_lemmas = lemma_root.get(first.lemma)
            score = 1.0
            fuzzy = False
            end = start
            while by_forms is not None or by_lemmas is not None:
                item = resolved[end]
                if item.score < score:
                    score = item.score
                fuzzy = fuzzy or item.fuzzy
                by_form = by_forms[0] if by_forms is not None else None
                by_lemma = by_lemmas[0] if by_lemmas is not None else None
                if by_form is not None:
                    if (
                        not by_form.keyword
                        and by_lemma is not None
                        and by_lemma.keyword
                        and by_lemma.intent == by_form.intent
                    ):
                        by_form = by_lemma  # "cancela" is an example, its lemma a keyword
                    spans.append(Span(start, end + 1, by_form, score, fuzzy))
                elif by_lemma is not None and (
                    self._agrees is None or self._agrees(by_lemma, resolved[start : end + 1])
                ):
                    spans.append(
                        Span(start, end + 1, by_lemma, score * lemma_factor, fuzzy, by_lemma=True)
                    )
                end += 1
                if end == count:
                    break
                following = resolved[end]
                by_forms = by_forms[1].get(following.form) if by_forms is not None else None
                by_lemmas = by_lemmas[1].get(following.lemma) if by_lemmas is not None else None
        return spans

    def find_context(self, resolved: list[Resolved], intents: Iterable[str]) -> list[Span]:
        """Context phrases of ``intents`` occurring in ``resolved`` (overlaps included).

        A context phrase ("esto", "el chat", "linda tarde") is matched by words or by lemmas
        ("chats", "tardes"), never through a corrected misspelling; each span's entry has
        ``context=True`` and its score is 1.0.
        """
        wanted = set(intents)
        spans: list[Span] = []
        if not wanted or not self._context:
            return spans
        count = len(resolved)
        first = self._context_first
        for start in range(count):
            item = resolved[start]
            if item.form not in first and item.lemma not in first:
                continue
            forms: tuple[str, ...] | None = ()
            lemmas: tuple[str, ...] | None = ()
            for end in range(start, min(count, start + self._max_context_len)):
                item = resolved[end]
                if item.fuzzy:
                    break
                if forms is not None:
                    forms = (*forms, item.form)
                    if forms not in self._context_prefixes:
                        forms = None
                if lemmas is not None:
                    lemmas = (*lemmas, item.lemma)
                    if lemmas not in self._context_prefixes:
                        lemmas = None
                if forms is None and lemmas is None:
                    break
                found = self._context.get(forms) if forms is not None else None
                if found is None and lemmas is not None:
                    found = self._context.get(lemmas)
                for entry in found or ():
                    if entry.intent in wanted:
                        spans.append(Span(start, end + 1, entry, 1.0, False))
        return spans


_Node = tuple[Entry | None, dict[str, "_Node"]]
"""A trie node: the entry of the phrase that ends here, if any, and the next words."""


def _trie(table: Mapping[tuple[str, ...], Entry]) -> dict[str, _Node]:
    """``table``'s phrases as a trie of words: the root's children."""
    root: dict[str, list[Any]] = {}
    for key, entry in table.items():
        level = root
        for position, word in enumerate(key):
            node = level.setdefault(word, [None, {}])
            if position == len(key) - 1:
                node[0] = entry
            level = node[1]

    def freeze(level: dict[str, list[Any]]) -> dict[str, _Node]:
        return {word: (node[0], freeze(node[1])) for word, node in level.items()}

    return freeze(root)


def _prefixes(keys: Iterable[tuple[str, ...]]) -> frozenset[tuple[str, ...]]:
    return frozenset(key[:length] for key in keys for length in range(1, len(key) + 1))


def select_context(context: list[Span], intent: str, taken: set[int]) -> list[Span]:
    """The intent's context spans, longest first, that overlap neither each other nor the
    ``taken`` positions (its own phrases, fillers, phrases of intents that outrank it):
    "del chat" rather than "chat"; "about the trial" may cover a lesser intent's "trial"."""
    kept: list[Span] = []
    used = set(taken)
    for span in sorted(context, key=lambda s: (s.start - s.end, s.start)):
        positions = range(span.start, span.end)
        if span.entry.intent == intent and not any(i in used for i in positions):
            used.update(positions)
            kept.append(span)
    return kept


def select_spans(spans: list[Span]) -> list[Span]:
    """Spans that do not overlap another intent's, longest first; intents before fillers.

    Overlapping spans of one intent are all kept, so "me gustaría probar" (an example) and
    "probar gratis" (a keyword) together explain "me gustaría probar gratis".
    """
    spans.sort(key=lambda s: (-(s.end - s.start), s.entry.intent == FILLER, -s.score, s.start))
    owner: dict[int, str] = {}
    chosen: list[Span] = []
    for span in spans:
        intent = span.entry.intent
        positions = range(span.start, span.end)
        if all(owner.get(i, intent) == intent for i in positions) and (
            intent != FILLER or all(i not in owner for i in positions)
        ):
            if any(
                s.entry.intent == intent and s.start <= span.start and span.end <= s.end
                for s in chosen
            ):
                continue  # inside a longer phrase of the same intent: adds nothing
            owner.update(dict.fromkeys(positions, intent))
            chosen.append(span)
    chosen.sort(key=lambda s: s.start)
    return chosen
