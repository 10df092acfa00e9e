"""Why the classifier answered what it did: normalized text, candidates, matches, vetoes.

Built by :meth:`bot.intents.IntentClassifier.explain` (``bot classify --explain`` prints it,
the classifier logs :meth:`Explanation.summary` at debug level). Nothing here is on the fast
path of :meth:`~bot.intents.IntentClassifier.classify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.intents.index import FILLER, Resolved, Span
from bot.intents.result import NONE_INTENT, IntentResult


@dataclass(frozen=True, slots=True)
class Match:
    """One phrase found in the message.

    Attributes:
        intent: The phrase's intent, ``"filler"`` or ``"none"`` (an anti-example).
        phrase: The phrase as written in ``intents/<lang>.yaml``.
        words: The message's words it covered, as read (lowercase, letter runs cut to two:
            "chauuu" reads "chauu").
        how: ``"example"`` or ``"keyword"``, plus ``"+lemma"`` when matched by lemmas and
            ``"+sound"``/``"+typo"``/``"+dedouble"`` when a word was corrected; ``"context"``
            for a word that only accompanies the intent ("esto" in "cancela esto").
        score: Match score in ``[0, 1]`` (lower for lemmas and corrections).
    """

    intent: str
    phrase: str
    words: str
    how: str
    score: float

    def describe(self) -> str:
        """E.g. ``keyword+typo 'cancelar' <- "canselar" (0.85)``."""
        return f'{self.how} {self.phrase!r} <- "{self.words}" ({self.score:.2f})'


@dataclass(frozen=True, slots=True)
class Candidate:
    """One intent considered for the message.

    Attributes:
        intent: Canonical intent name.
        lang: The language model that found it.
        clause: 0-based clause of the message.
        confidence: Its confidence in that clause (0 when vetoed).
        threshold: The confidence it needed (higher while a flow waits for free text).
        matches: The phrases that support it.
        veto: Why a guard dropped it ("negated by 'no'"), or ``None``.
    """

    intent: str
    lang: str
    clause: int
    confidence: float
    threshold: float
    matches: tuple[Match, ...]
    veto: str | None

    def describe(self) -> str:
        """One line: intent, confidence against threshold, matches, veto."""
        verdict = (
            f"vetoed: {self.veto}"
            if self.veto
            else f"{self.confidence:.3f} (needs {self.threshold:.2f})"
        )
        found = "; ".join(match.describe() for match in self.matches)
        return f"{self.intent:<14} {verdict}  [{self.lang}, clause {self.clause + 1}] {found}"


@dataclass(frozen=True, slots=True)
class Explanation:
    """The classifier's reasoning for one message.

    Attributes:
        text: The message as received.
        result: What :meth:`~bot.intents.IntentClassifier.classify` returns for it.
        hint: The session language passed in (``None`` if unknown).
        expecting_free_text: Whether a flow was waiting for a free-text answer.
        language_points: Evidence points per language (see :mod:`bot.intents.langid`).
        normalized: Language → the message as that language's model reads it: clauses
            separated by ``" | "``, corrections shown as ``typed>word``.
        candidates: Every intent considered, best first.
        fillers: Filler and anti-example phrases found (they explain words, nothing more).
        settled: Why the whole message changed the result after the phrases were weighed
            ("a wait: no goodbye"), or ``None``.
    """

    text: str
    result: IntentResult
    hint: str | None
    expecting_free_text: bool
    language_points: Mapping[str, float]
    normalized: Mapping[str, str]
    candidates: tuple[Candidate, ...]
    fillers: tuple[Match, ...]
    settled: str | None = None

    def lines(self) -> list[str]:
        """A human-readable report, one item per line."""
        points = " ".join(f"{lang}={value:g}" for lang, value in self.language_points.items())
        context = " (a flow waits for free text)" if self.expecting_free_text else ""
        out = [
            f"text:        {self.text}",
            f"result:      {self.result.intent} {self.result.confidence:.3f}{context}"
            + (f" (asks about {self.result.confirm})" if self.result.confirm else ""),
            f"language:    {self.result.lang or 'unknown'} (hint {self.hint or '-'}; "
            f"evidence {points})",
        ]
        out += [f"normalized:  [{lang}] {text}" for lang, text in self.normalized.items()]
        if self.candidates:
            out.append("candidates:")
            out += [f"  {candidate.describe()}" for candidate in self.candidates]
        else:
            out.append("candidates:  none (no example or keyword matched)")
        if self.fillers:
            out.append("also:        " + "; ".join(match.describe() for match in self.fillers))
        if self.settled:
            out.append(f"settled:     {self.settled}")
        return out

    def summary(self) -> str:
        """One line for logs: result, normalized text, top candidates and vetoes."""
        norm = " / ".join(f"{lang}: {text}" for lang, text in self.normalized.items())
        tops = ", ".join(
            f"{c.intent}={'vetoed(' + c.veto + ')' if c.veto else format(c.confidence, '.2f')}"
            f"[{'; '.join(m.describe() for m in c.matches)}]"
            for c in self.candidates[:3]
        )
        return (
            f"intent={self.result.intent} confidence={self.result.confidence:.2f} "
            f"lang={self.result.lang} normalized=({norm}) candidates=({tops or '-'})"
        )


def normalized_text(clauses: list[list[Resolved]]) -> str:
    """Clauses joined by ``" | "``; a corrected word shows as ``typed>word``."""
    return " | ".join(
        " ".join(
            item.token.norm if item.form == item.token.norm else f"{item.token.norm}>{item.form}"
            for item in clause
        )
        for clause in clauses
    )


def span_match(span: Span, resolved: list[Resolved]) -> Match:
    """Describe one matched span of a clause."""
    entry = span.entry
    items = resolved[span.start : span.end]
    how = "keyword" if entry.keyword else "example"
    if span.by_lemma:
        how += "+lemma"
    corrections = sorted({item.how for item in items if item.how != "exact"})
    how += "".join(f"+{kind}" for kind in corrections)
    intent = "filler" if entry.intent == FILLER else entry.intent
    if entry.context:
        how = "context"
    elif intent == "filler":
        how = "filler"
    elif intent == NONE_INTENT:
        how = "anti-example"
    words = " ".join(item.token.orth for item in items)
    return Match(intent, entry.text, words, how, round(span.score, 4))
