"""Measuring a classifier on labelled messages: precision, recall, F1, confusion, false closes.

The data is JSON Lines, one message per line::

    {"text": "chau, gracias!", "intent": "goodbye", "lang": "es", "tags": ["mixed"]}
    {"text": "hola, quiero una prueba", "intent": "request_trial", "lang": "es", "also": ["greet"]}

``text``, ``intent`` (a canonical name, an alias such as ``despedida``, or ``none``) and
``lang`` (the language the message is written in; for a text without language, a name or an
email, the conversation's) are required; ``tags`` (free labels such as ``typo``, used to break
results down) is optional, and so is ``also``: the other intents of a message with several
("hola, quiero una prueba" is a trial request and a greeting), which the classifier should
rank (:attr:`~bot.intents.result.IntentResult.ranked`). Blank lines and lines starting with
``#`` are skipped. A bad line raises :class:`~bot.errors.DataFileError` with ``file:line:column``.

:func:`evaluate` works with any predictor, so the shipped classifier and the plain
:class:`KeywordBaseline` are measured the same way (``bot eval`` prints both).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.intents.classifier import IntentClassifier
from bot.intents.data import LanguageData, load_language_file
from bot.intents.labelled import LabelledMessage, load_labelled
from bot.intents.normalize import prepare, remove_apostrophes, strip_accents
from bot.intents.result import (
    CANCEL,
    CLOSING_INTENTS,
    GOODBYE,
    GREET,
    NONE_INTENT,
    OPT_OUT,
    IntentResult,
)

FALSE_CLOSE_SOURCES: frozenset[str] = frozenset({GREET, NONE_INTENT})
"""Gold intents whose messages must never close a session (the false-close denominator)."""
SESSION_ENDING: frozenset[str] = CLOSING_INTENTS | {OPT_OUT}
"""Predicted intents that end the session (an opt-out closes it too)."""
REFINED_LABELS: Mapping[str, str] = {OPT_OUT: CANCEL, "cancel_order": CANCEL}
"""Intents that split an older label: sets written before them label an opt-out or an order
cancel ``cancel``. In a file that never uses the finer label, predicting it is scored as the
older one (``evaluate`` does it), so the old sets keep measuring what they measured."""
BUSINESS_CANCEL_TAG = "business_cancel"
"""Tag of messages that cancel a business object (a booking, an order): never a close."""


@dataclass(frozen=True, slots=True)
class IntentMetrics:
    """Precision, recall and F1 (each in ``[0, 1]``) of one intent; ``support`` = gold count."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Report:
    """The result of :func:`evaluate`.

    Attributes:
        labels: Every intent seen as gold or prediction, sorted, ``"none"`` last.
        per_intent: Label → its metrics.
        macro_f1: Unweighted mean F1 over the labels the file uses (``"none"`` included). A
            predicted intent the file has no label for (``handoff`` on a set written before
            it) is an error of the gold label's recall, not a class of F1 0 of its own; see
            ``unlabelled``.
        accuracy: Share of messages classified exactly right.
        confusion: ``confusion[gold][predicted]`` = message count.
        false_close_rate: Share of greet/none messages classified as goodbye or cancel.
        false_closes: How many such messages; ``false_close_total`` is the denominator.
        missed_closes: Goodbye/cancel messages classified as none of goodbye, cancel, opt_out
            (one the classifier only asks about counts as missed here, and in
            ``missed_asked``).
        errors: ``(message, predicted)`` for each wrong answer, in file order.
        business_closes: Messages tagged ``business_cancel`` (cancelling a booking, an
            order...) classified as goodbye, cancel or opt-out; ``business_total`` of them.
        asked_closes: Goodbye/cancel messages the classifier would ask about (``confirm``).
        asked_others: Other messages it would ask about (one extra turn each).
        missed_asked: Missed closes that the classifier asks about (``confirm``): the user
            gets a yes/no question, not a silent miss; ``missed_closes - missed_asked`` are
            missed without asking.
        also_found: Intents of ``also`` that the classifier ranked; ``also_total`` of them.
        unlabelled: Predicted intents the file never uses as a label → how many times.
    """

    labels: tuple[str, ...]
    per_intent: Mapping[str, IntentMetrics]
    macro_f1: float
    accuracy: float
    confusion: Mapping[str, Mapping[str, int]]
    false_close_rate: float
    false_closes: int
    false_close_total: int
    missed_closes: int
    errors: tuple[tuple[LabelledMessage, str], ...] = field(default=())
    business_closes: int = 0
    business_total: int = 0
    asked_closes: int = 0
    asked_others: int = 0
    missed_asked: int = 0
    also_found: int = 0
    also_total: int = 0
    unlabelled: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of messages evaluated."""
        return sum(metrics.support for metrics in self.per_intent.values())


def evaluate(
    messages: Sequence[LabelledMessage],
    predict: Callable[[LabelledMessage], str | IntentResult],
) -> Report:
    """Run ``predict`` on every message and compare with the labels.

    Args:
        messages: Labelled messages (see :func:`load_labelled`).
        predict: Returns the predicted canonical intent (or ``"none"``) for one message, or
            the classifier's whole :class:`~bot.intents.result.IntentResult` (then its
            ``ranked`` and ``confirm`` are measured too).

    Returns:
        Metrics per intent, macro-F1 over every label seen (a prediction of a finer label
        the file never uses is scored as the older one, see :data:`REFINED_LABELS`), the
        confusion matrix, the
        false-close rate, business-object cancels that would close, what the classifier
        would ask about, and the share of ``also`` intents ranked.
    """
    results = [_as_result(predict(message)) for message in messages]
    used = {message.intent for message in messages}
    folded = {fine: old for fine, old in REFINED_LABELS.items() if fine not in used}
    pairs = [
        (message, folded.get(result.intent, result.intent))
        for message, result in zip(messages, results, strict=True)
    ]
    gold = Counter(message.intent for message, _ in pairs)
    predicted = Counter(guess for _, guess in pairs)
    hits = Counter(message.intent for message, guess in pairs if guess == message.intent)
    labels = tuple(sorted(set(gold) | set(predicted), key=lambda name: (name == NONE_INTENT, name)))
    per_intent = {label: _metrics(hits[label], predicted[label], gold[label]) for label in labels}
    confusion: dict[str, dict[str, int]] = {label: dict.fromkeys(labels, 0) for label in labels}
    for message, guess in pairs:
        confusion[message.intent][guess] += 1
    sources = [guess for message, guess in pairs if message.intent in FALSE_CLOSE_SOURCES]
    false_closes = sum(guess in SESSION_ENDING for guess in sources)
    missed = sum(
        message.intent in CLOSING_INTENTS and guess not in SESSION_ENDING
        for message, guess in pairs
    )
    missed_asked = sum(
        message.intent in CLOSING_INTENTS
        and guess not in SESSION_ENDING
        and result.confirm is not None
        for (message, guess), result in zip(pairs, results, strict=True)
    )
    business = [guess for message, guess in pairs if BUSINESS_CANCEL_TAG in message.tags]
    asked = [
        message.intent in CLOSING_INTENTS
        for message, result in zip(messages, results, strict=True)
        if result.confirm is not None
    ]
    also = [
        name in {result.intent, *(ranked for ranked, _ in result.ranked)}
        for message, result in zip(messages, results, strict=True)
        for name in message.also
    ]
    return Report(
        labels=labels,
        per_intent=per_intent,
        macro_f1=sum(per_intent[label].f1 for label in gold) / len(gold) if gold else 0.0,
        accuracy=sum(hits.values()) / len(pairs) if pairs else 0.0,
        confusion=confusion,
        false_close_rate=false_closes / len(sources) if sources else 0.0,
        false_closes=false_closes,
        false_close_total=len(sources),
        missed_closes=missed,
        errors=tuple((message, guess) for message, guess in pairs if guess != message.intent),
        business_closes=sum(guess in SESSION_ENDING for guess in business),
        business_total=len(business),
        asked_closes=sum(asked),
        asked_others=len(asked) - sum(asked),
        missed_asked=missed_asked,
        also_found=sum(also),
        also_total=len(also),
        unlabelled={label: n for label, n in predicted.items() if label not in gold},
    )


def _as_result(prediction: str | IntentResult) -> IntentResult:
    if isinstance(prediction, IntentResult):
        return prediction
    return IntentResult(prediction, 1.0, None)


def _metrics(hits: int, predicted: int, support: int) -> IntentMetrics:
    precision = hits / predicted if predicted else 0.0
    recall = hits / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return IntentMetrics(precision, recall, f1, support)


def classifier_predictor(
    classifier: IntentClassifier, use_hint: bool = True
) -> Callable[[LabelledMessage], IntentResult]:
    """A predictor for :func:`evaluate` backed by the real classifier.

    Args:
        classifier: The classifier to measure.
        use_hint: Pass each message's ``lang`` as the session language (the usual case in a
            conversation); ``False`` measures a first message, with nothing known.
    """

    def predict(message: LabelledMessage) -> IntentResult:
        return classifier.classify(message.text, message.lang if use_hint else None)

    return predict


@dataclass(frozen=True, slots=True)
class LanguageReport:
    """Language identification on labelled messages (no hint given).

    Attributes:
        right, wrong, undecided: Message counts; ``undecided`` = no language returned (an
            email, a name, "ok"), which makes the caller keep its default.
        total: All messages.
    """

    right: int
    wrong: int
    undecided: int
    total: int


def evaluate_language(
    messages: Iterable[LabelledMessage], detect: Callable[[str], str | None]
) -> LanguageReport:
    """Compare ``detect(text)`` with each message's ``lang``."""
    right = wrong = undecided = total = 0
    for message in messages:
        total += 1
        found = detect(message.text)
        if found is None:
            undecided += 1
        elif found == message.lang:
            right += 1
        else:
            wrong += 1
    return LanguageReport(right, wrong, undecided, total)


class KeywordBaseline:
    """A plain keyword matcher, the yardstick the classifier is compared with.

    It knows the same phrases as the classifier (every example and keyword of every language
    file) and nothing else: text lowercased, accents, apostrophes and punctuation removed; an
    intent fires when one of its phrases occurs as whole words anywhere in the message; the
    longest phrase wins, ties go to cancel, then goodbye, then the rest, greet last. No typos,
    lemmas, negation, questions or language.
    """

    def __init__(self, languages: Iterable[LanguageData]) -> None:
        """Collect the phrases of each language file (``none`` anti-examples are ignored)."""
        self._phrases: list[tuple[int, int, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for data in languages:
            for spec in data.intents.values():
                if spec.name == NONE_INTENT:
                    continue
                for phrase in (*spec.examples, *spec.keywords):
                    words = _plain(phrase.text)
                    if words and (words, spec.name) not in seen:
                        seen.add((words, spec.name))
                        rank = _baseline_rank(spec.name)
                        self._phrases.append((words.count(" ") + 1, rank, words, spec.name))
        self._phrases.sort(reverse=True)

    def classify(self, text: str) -> str:
        """The intent of the longest phrase found in ``text``, or ``"none"``."""
        padded = f" {_plain(text)} "
        for _, _, words, intent in self._phrases:
            if f" {words} " in padded:
                return intent
        return NONE_INTENT

    def predictor(self) -> Callable[[LabelledMessage], str]:
        """A predictor for :func:`evaluate`."""
        return lambda message: self.classify(message.text)


_PUNCT_RE = re.compile(r"[^\w\s\u2300-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]+")


def _plain(text: str) -> str:
    """Lowercase words without accents or punctuation, single-spaced (emoji kept)."""
    plain = strip_accents(remove_apostrophes(prepare(text)))
    return " ".join(_PUNCT_RE.sub(" ", plain).split())


def _baseline_rank(intent: str) -> int:
    if intent == CANCEL:
        return 3
    if intent == GOODBYE:
        return 2
    return 0 if intent == GREET else 1


def format_report(report: Report, title: str) -> str:
    """A plain-text table: per-intent metrics, macro-F1, false closes, confusion matrix."""
    width = max(len(label) for label in (*report.labels, "intent"))
    lines = [
        f"{title}: {report.total} messages",
        "",
        f"{'intent':<{width}}  precision  recall     f1  support",
    ]
    for label in report.labels:
        m = report.per_intent[label]
        lines.append(
            f"{label:<{width}}  {m.precision:9.3f}  {m.recall:6.3f}  {m.f1:5.3f}  {m.support:7d}"
        )
    lines += [
        "",
        f"macro-F1          {report.macro_f1:.3f}",
        f"accuracy          {report.accuracy:.3f}",
        f"false-close rate  {report.false_close_rate:.2%} "
        f"({report.false_closes} of {report.false_close_total} greet/none messages "
        "classified goodbye, cancel or opt_out)",
        f"missed closes     {report.missed_closes} goodbye/cancel messages classified as none "
        "of goodbye, cancel, opt_out",
    ]
    if report.unlabelled:
        named = ", ".join(f"{label} {n}" for label, n in sorted(report.unlabelled.items()))
        lines.append(
            f"unlabelled        predicted intents the file has no label for (errors, not in "
            f"macro-F1): {named}"
        )
    if report.business_total:
        lines.append(
            f"business closes   {report.business_closes} of {report.business_total} "
            "business-object cancels (a booking, an order) would close the session"
        )
    if report.asked_closes or report.asked_others:
        lines.append(
            f"would ask         {report.asked_closes} goodbye/cancel and "
            f"{report.asked_others} other messages (confirm)"
        )
        lines.append(
            f"closes asked      {report.missed_asked} of the missed closes are asked about; "
            f"{report.missed_closes - report.missed_asked} missed without asking"
        )
    if report.also_total:
        lines.append(
            f"multi-intent      {report.also_found} of {report.also_total} other intents "
            "of multi-intent messages ranked"
        )
    lines += [
        "",
        "confusion (rows: expected, columns: predicted)",
    ]
    cell = max(5, *(len(label) for label in report.labels))
    lines.append(" " * width + "  " + " ".join(f"{label:>{cell}}" for label in report.labels))
    for gold in report.labels:
        row = report.confusion[gold]
        lines.append(
            f"{gold:<{width}}  " + " ".join(f"{row[guess]:>{cell}d}" for guess in report.labels)
        )
    return "\n".join(lines)


def format_errors(report: Report, path: str) -> str:
    """One line per wrong answer: ``path:line: expected -> predicted: text``."""
    return "\n".join(
        f"{path}:{message.line}: {message.intent} -> {guess} ({message.lang}): {message.text}"
        for message, guess in report.errors
    )


def format_language(report: LanguageReport) -> str:
    """One line: language identification right / wrong / undecided shares."""
    total = report.total or 1
    return (
        f"language id (no hint): {report.right / total:.1%} right, "
        f"{report.wrong / total:.1%} wrong, {report.undecided / total:.1%} undecided "
        f"(of {report.total})"
    )


@dataclass(frozen=True, slots=True)
class EvalRun:
    """Everything ``bot eval`` measures on one labelled file.

    Attributes:
        path: The file evaluated.
        use_hint: Whether each message's ``lang`` was given as the session language.
        classifier: The shipped classifier's report.
        baseline: The :class:`KeywordBaseline`'s report on the same messages.
        language: Language identification without hints.
    """

    path: str
    use_hint: bool
    classifier: Report
    baseline: Report
    language: LanguageReport


def run_eval(
    path: Path,
    classifier: IntentClassifier,
    intents_dir: Path,
    languages: Sequence[str],
    use_hint: bool = True,
) -> EvalRun:
    """Measure ``classifier`` and the keyword baseline on the labelled file ``path``.

    Args:
        path: JSON Lines file (see the module docstring).
        classifier: The classifier to measure, built from ``intents_dir``.
        intents_dir: Folder of ``<lang>.yaml`` the baseline takes its phrases from.
        languages: Language codes of the intent files.
        use_hint: Give each message's ``lang`` as the session language.

    Raises:
        DataFileError: The labelled file or an intent file is invalid.
    """
    messages = load_labelled(path)
    baseline = KeywordBaseline(
        load_language_file(intents_dir / f"{code}.yaml", code) for code in languages
    )
    return EvalRun(
        path=str(path),
        use_hint=use_hint,
        classifier=evaluate(messages, classifier_predictor(classifier, use_hint)),
        baseline=evaluate(messages, baseline.predictor()),
        language=evaluate_language(messages, classifier.detect_language),
    )


def format_run(run: EvalRun, show_errors: bool = False) -> str:
    """The classifier's table, the comparison with the baseline, language id, and errors."""
    hint = "session language given" if run.use_hint else "no session language"
    c, b = run.classifier, run.baseline
    lines = [
        format_report(c, f"{run.path} ({hint})"),
        "",
        "compared with a plain keyword matcher (same phrases, whole words, no guards):",
        f"{'':18}{'classifier':>12}{'keywords':>12}",
        f"{'macro-F1':18}{c.macro_f1:>12.3f}{b.macro_f1:>12.3f}",
        f"{'accuracy':18}{c.accuracy:>12.3f}{b.accuracy:>12.3f}",
        f"{'false-close rate':18}{c.false_close_rate:>12.2%}{b.false_close_rate:>12.2%}",
        f"{'missed closes':18}{c.missed_closes:>12d}{b.missed_closes:>12d}",
        "",
        format_language(run.language),
    ]
    if show_errors and c.errors:
        lines += ["", "errors (expected -> predicted):", format_errors(c, run.path)]
    return "\n".join(lines)
