"""Scoring one clause: pick phrase spans, apply the guards, turn coverage into confidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.intents.analyzer import Clause, Token
from bot.intents.config import ScoringConfig
from bot.intents.index import FILLER, PhraseIndex, Resolved, Span
from bot.intents.result import NONE_INTENT


@dataclass(frozen=True, slots=True)
class IntentTraits:
    """What scoring needs to know about an intent besides its phrases."""

    closing: bool
    deferrable: bool
    priority: int


@dataclass(frozen=True, slots=True)
class ClauseScore:
    """Result of scoring one clause.

    Attributes:
        scores: Confidence in ``[0, 1]`` per intent that survived the guards.
        matched: Every intent with a phrase in the clause, vetoed ones included: evidence
            that the clause was understood in this language.
    """

    scores: dict[str, float]
    matched: frozenset[str]


class ClauseScorer:
    """Confidence per intent for one clause of one language.

    The clause's phrase matches are chosen longest-first without overlap (so "nice to see
    you" beats "see you", and a ``none`` anti-example swallows the keyword inside it). An
    intent is then vetoed for the clause when one of its phrases is negated ("no quiero
    cancelar"); a closing intent also when the clause is a question ("¿puedo cancelar?") or
    hypothetical ("if I cancel"). The rest score by coverage: how much of the clause (by
    weight) the intent's phrases, fillers and lower-priority intents explain.
    """

    def __init__(
        self, index: PhraseIndex, traits: Mapping[str, IntentTraits], config: ScoringConfig
    ) -> None:
        """Bind the scorer to a language's index, its intents' traits and the parameters."""
        self._index = index
        self._traits = traits
        self._config = config

    def resolve(self, clause: Clause) -> list[Resolved]:
        """Resolve the clause's tokens (cut to ``max_clause_tokens``)."""
        resolve = self._index.resolve
        return [resolve(token) for token in clause.tokens[: self._config.max_clause_tokens]]

    def score(self, clause: Clause) -> ClauseScore:
        """Confidence for each intent with a phrase in ``clause`` that survived the guards."""
        resolved = self.resolve(clause)
        chosen = _select(self._index.find_spans(resolved))
        if not chosen:
            return ClauseScore({}, frozenset())
        tokens = clause.tokens[: len(resolved)]
        fillers = [span for span in chosen if span.entry.intent == FILLER]
        filler_positions = {i for span in fillers for i in range(span.start, span.end)}
        filler_positions.update(  # the "no" of "no gracias" is polite, not meaning
            i
            for i in range(len(tokens) - 1)
            if self._declines(tokens, i) and self._index.negations.ends_at(tokens, i)
        )
        vetoed: set[str] = set()
        by_intent: dict[str, list[Span]] = {}
        for span in chosen:
            intent = span.entry.intent
            if intent not in (FILLER, NONE_INTENT):
                by_intent.setdefault(intent, []).append(span)
        for intent, spans in by_intent.items():
            own = {i for span in spans for i in range(span.start, span.end)}
            free = [i for i in range(len(tokens)) if i not in own]
            if any(self._guarded(span, clause, tokens, filler_positions, free) for span in spans):
                vetoed.add(intent)
        matched = frozenset(by_intent)
        for intent in vetoed:
            del by_intent[intent]

        weights = [item.weight for item in resolved]
        total = sum(weights)
        if total <= 0:
            return ClauseScore({}, matched)
        scores: dict[str, float] = {}
        for intent, spans in by_intent.items():
            priority = self._traits[intent].priority
            covered = set(filler_positions)
            for other, other_spans in by_intent.items():
                if other == intent or self._traits[other].priority < priority:
                    covered.update(i for span in other_spans for i in range(span.start, span.end))
            coverage = sum(weights[i] for i in covered) / total
            scores[intent] = self._confidence(spans, weights, coverage)
        return ClauseScore(scores, matched)

    def _confidence(self, spans: list[Span], weights: list[float], coverage: float) -> float:
        span_weights = [sum(weights[span.start : span.end]) or 1.0 for span in spans]
        mean = sum(s.score * w for s, w in zip(spans, span_weights, strict=True)) / sum(
            span_weights
        )
        confidence = mean * coverage
        floor = self._config.keyword_floor
        for span in spans:
            if span.entry.keyword and not span.fuzzy:
                strength = floor + (1.0 - floor) * coverage**3
                confidence = max(confidence, span.score * strength)
        return min(1.0, confidence)

    def _guarded(
        self,
        span: Span,
        clause: Clause,
        tokens: tuple[Token, ...],
        fillers: set[int],
        free: list[int],
    ) -> bool:
        """True when the span's intent must not fire in this clause.

        Any intent: a negation shortly before the phrase. Closing intents also: a question,
        a question word opening the clause, or a conditional at one of the ``free`` positions
        (outside the intent's own phrases: "cancelo si no me gusta"); deferrable ones also a
        deferral word there ("I'll cancel later").
        """
        index = self._index
        # Negation shortly before the phrase ("no quiero cancelar"); fillers end its scope
        # ("no gracias, adiós"). A trailing "no" at the end of the clause ("cancelar no").
        for position in range(
            span.start - 1, max(-1, span.start - 1 - self._config.negation_window), -1
        ):
            if position in fillers:
                break
            if index.negations.ends_at(tokens, position) and not self._declines(tokens, position):
                return True
        if span.end == len(tokens) - 1 and index.negations.ends_at(tokens, span.end):
            return True
        traits = self._traits[span.entry.intent]
        if not traits.closing:
            return False
        if clause.is_question:
            return True
        opener = next((i for i in range(len(tokens)) if i not in fillers), 0)
        if opener < span.start and index.question_words.starts_at(tokens, opener):
            return True
        if any(index.conditionals.starts_at(tokens, i) for i in free):
            return True
        return traits.deferrable and any(index.deferrals.starts_at(tokens, i) for i in free)

    def _declines(self, tokens: tuple[Token, ...], position: int) -> bool:
        """True for "no thanks"/"no gracias": a negation directly followed by a filler word."""
        following = position + 1
        return following < len(tokens) and tokens[following].norm in self._index.filler_words


def _select(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, longest first; intents before fillers; then higher score."""
    spans.sort(key=lambda s: (-(s.end - s.start), s.entry.intent == FILLER, -s.score, s.start))
    taken: set[int] = set()
    chosen: list[Span] = []
    for span in spans:
        positions = range(span.start, span.end)
        if taken.isdisjoint(positions):
            taken.update(positions)
            chosen.append(span)
    chosen.sort(key=lambda s: s.start)
    return chosen
