"""A small learned layer beside the lexicon: hashed n-gram features, multinomial logistic
regression, pure numpy.

The lexicon (phrases, guards, frames) is precise but knows only the phrasings it lists. This
model reads a message as bags of hashed features of the normalized text — character 3- to
5-grams of each word (with word boundaries, so "cancel" shares most of its grams with
"cancelame" and "cancellation") and word unigrams and bigrams — and scores every intent with
a multinomial logistic regression (one weight row per feature bucket, ``2**FEATURE_BITS``
buckets). It is trained when the classifier is built, from the intent files' expanded
examples and keywords, their ``none`` anti-examples and, optionally, labelled JSON Lines
files: about 9,000 short texts, full-batch gradient descent (Adam) for a fixed number of
steps from zero weights, so the same data gives the same weights, bit for bit.

It is only asked where the lexicon is unsure (see :func:`fuse`), on the bounded view of the
text (:mod:`bot.intents.bounds`), and its answers are cached per text. Its answer for a
closing intent never closes by itself: it makes the engine ask (``IntentResult.confirm``).
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from bot.intents.bounds import bound_sequence, bounded_view
from bot.intents.data import LanguageData
from bot.intents.normalize import prepare, remove_apostrophes, strip_accents
from bot.intents.result import CANCEL, GOODBYE, NONE_INTENT, IntentResult

FEATURE_BITS = 18
"""Feature buckets: ``2**FEATURE_BITS`` (262,144); a weight table of about 7 MB for 7 labels."""
MAX_WORD_CHARS = 30
"""Characters of a word that give character n-grams (a 1 MB "word" gives as many as 30)."""
CHAR_NGRAMS = (3, 4, 5)
"""Lengths of the character n-grams taken from each word (with ``<`` and ``>`` at its ends)."""
MAX_PER_INTENT = 400
"""Most expanded examples of one intent and language used for training (every k-th one,
in file order): the ``(a|b|)`` expansions of a few long entries would otherwise outweigh the
rest (and cost start-up time)."""
STEPS = 60
"""Full-batch Adam steps; fixed, so training is deterministic and its time bounded."""
LEARNING_RATE = 0.5
L2 = 1e-5
"""L2 penalty per weight, per training message."""

CONFIRMABLE: frozenset[str] = frozenset({GOODBYE, CANCEL})
"""Closing intents the engine can ask about (``IntentResult.confirm``)."""

_WORD_RE = re.compile(r"[^\W_]+|[\u2300-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]", re.UNICODE)
_MASK = (1 << FEATURE_BITS) - 1

Features = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]
"""Bucket indices and values of one text (values L2-normalized; repeated buckets add up)."""


def normalized_words(text: str) -> list[str]:
    """The words of ``text`` as the classifier compares them: NFKC, lowercase, long letter
    runs cut (:func:`~bot.intents.normalize.prepare`), accents and apostrophes removed;
    emoji are words. Bounded like the lexicon's work (:mod:`bot.intents.bounds`): NFKC may
    lengthen a text, so the prepared text is cut to its view again and its words to the
    first and last ones."""
    plain = strip_accents(remove_apostrophes(bounded_view(prepare(text))))
    return bound_sequence(_WORD_RE.findall(plain))


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & _MASK


def features(text: str) -> Features:
    """Hashed features of ``text``: ``w:`` word unigrams, ``b:`` word bigrams, ``c:`` character
    3- to 5-grams of each word with boundaries. Empty arrays for a text without words."""
    words = normalized_words(text)
    keys = [f"w:{word}" for word in words]
    keys += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f"<{word[:MAX_WORD_CHARS]}>"
        for n in CHAR_NGRAMS:
            keys += [f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1)]
    index = np.fromiter((_bucket(key) for key in keys), dtype=np.int64, count=len(keys))
    values = np.full(len(keys), 1.0 / np.sqrt(max(len(keys), 1)), dtype=np.float32)
    return index, values


@dataclass(frozen=True, slots=True)
class Example:
    """One training text and its label (a canonical intent name or ``"none"``)."""

    text: str
    label: str


def examples_from_files(languages: Iterable[LanguageData]) -> list[Example]:
    """Training examples from the intent files: each intent's expanded examples (at most
    :data:`MAX_PER_INTENT` per intent and language, evenly spread) and keywords, and the
    ``none`` anti-examples, in file order."""
    result: list[Example] = []
    for data in languages:
        for spec in data.intents.values():
            texts = [phrase.text for phrase in spec.examples]
            if len(texts) > MAX_PER_INTENT:
                step = len(texts) / MAX_PER_INTENT
                texts = [texts[int(k * step)] for k in range(MAX_PER_INTENT)]
            texts += [phrase.text for phrase in spec.keywords]
            result += [Example(text, spec.name) for text in texts]
    return result


@dataclass(frozen=True, slots=True)
class Guess:
    """The model's answer for one text.

    Attributes:
        intent: The most probable label (``"none"`` included).
        probability: Its probability in ``[0, 1]``.
        probabilities: Every label's probability.
        known: Share (by weight) of the text's features that occurred in training, in
            ``[0, 1]``: a name or a word never seen gives little evidence.
    """

    intent: str
    probability: float
    probabilities: Mapping[str, float]
    known: float = 1.0


class LearnedModel:
    """Multinomial logistic regression over hashed n-gram features.

    Args:
        labels: The labels, in a fixed order (the weight table's columns).
        weights: ``(2**FEATURE_BITS, len(labels))`` float32.
        bias: ``(len(labels),)`` float32.
        cache_size: Guesses kept per text (LRU; 0 turns the cache off).
    """

    def __init__(
        self,
        labels: Sequence[str],
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        cache_size: int = 10_000,
    ) -> None:
        if weights.shape != (1 << FEATURE_BITS, len(labels)) or bias.shape != (len(labels),):
            raise ValueError(f"weights {weights.shape} and bias {bias.shape} do not fit labels")
        self.labels = tuple(labels)
        self.weights = weights
        self.bias = bias
        self._trained = np.abs(weights).max(axis=1) > 0
        self._cached: Callable[[str], Guess] = (
            lru_cache(maxsize=cache_size)(self._guess) if cache_size else self._guess
        )

    @classmethod
    def train(cls, examples: Sequence[Example], cache_size: int = 10_000) -> LearnedModel:
        """Fit the model on ``examples`` (deterministic: same examples, same weights).

        Raises:
            ValueError: Fewer than two labels among ``examples``.
        """
        labels = sorted({example.label for example in examples})
        if len(labels) < 2:
            raise ValueError("training needs at least two labels")
        weights, bias = _fit(examples, labels)
        return cls(labels, weights, bias, cache_size)

    def guess(self, text: str) -> Guess:
        """The most probable label of ``text`` (already a bounded view), cached per text."""
        return self._cached(text)

    def _guess(self, text: str) -> Guess:
        index, values = features(text)
        total = float(values.sum())
        known = float(values[self._trained[index]].sum()) / total if total else 0.0
        logits = self.bias + values @ self.weights[index]
        logits = logits - logits.max()
        exp = np.exp(logits)
        probabilities = exp / exp.sum()
        best = int(probabilities.argmax())
        return Guess(
            self.labels[best],
            float(probabilities[best]),
            dict(zip(self.labels, probabilities.tolist(), strict=True)),
            known,
        )


def _fit(
    examples: Sequence[Example], labels: Sequence[str]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Full-batch Adam on the softmax cross-entropy, over the buckets the data uses."""
    rows = [features(example.text) for example in examples]
    lengths = np.array([len(index) for index, _ in rows], dtype=np.int64)
    keep = lengths > 0
    rows = [row for row, kept in zip(rows, keep, strict=True) if kept]
    targets = np.array(
        [labels.index(e.label) for e, kept in zip(examples, keep, strict=True) if kept]
    )
    lengths = lengths[keep]
    n, c = len(rows), len(labels)
    buckets = np.concatenate([index for index, _ in rows])
    values = np.concatenate([vals for _, vals in rows])
    used, columns = np.unique(buckets, return_inverse=True)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    row_of = np.repeat(np.arange(n), lengths)
    by_column = np.argsort(columns, kind="stable")
    column_starts = np.flatnonzero(np.diff(columns[by_column], prepend=-1))
    one_hot = np.zeros((n, c), dtype=np.float32)
    one_hot[np.arange(n), targets] = 1.0
    # Balance the labels: each label weighs as much in total, whatever its count.
    counts = one_hot.sum(axis=0)
    sample_weight = (n / (c * counts[targets])).astype(np.float32)[:, None] / n

    w = np.zeros((len(used), c), dtype=np.float32)
    b = np.zeros(c, dtype=np.float32)
    state = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        logits = np.add.reduceat(w[columns] * values[:, None], starts, axis=0) + b
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        error = (prob - one_hot) * sample_weight
        contributions = (error[row_of] * values[:, None])[by_column]
        grad_w = np.add.reduceat(contributions, column_starts, axis=0) + L2 * w
        grad_b = error.sum(axis=0)
        for grad, param, m, v in ((grad_w, w, state[0], state[1]), (grad_b, b, state[2], state[3])):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            param -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    weights = np.zeros((1 << FEATURE_BITS, c), dtype=np.float32)
    weights[used] = w
    return weights, b.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Fusion:
    """When the model's answer counts (probabilities in ``[0, 1]``).

    Attributes:
        ask_closing: A closing intent (goodbye, cancel) the lexicon did not find at all is
            asked about (``confirm``) when the model gives it at least this.
        close_confirmed: A closing intent the lexicon put in its confirm band closes without
            asking when the model gives that same intent at least this.
        author: A non-closing author intent (``request_trial``, ``cancel_order``) is acted on
            when the model gives it at least this and the lexicon found nothing.
        min_known: The model is not heard when less than this share of the text's features
            occurred in training (:attr:`Guess.known`).
    """

    ask_closing: float = 0.7
    close_confirmed: float = 0.95
    author: float = 0.9
    min_known: float = 0.6


@dataclass(frozen=True, slots=True)
class LexiconView:
    """What the lexicon saw in a message, for :func:`fuse`.

    Attributes:
        vetoed: True when a guard vetoed an intent in the message, the message holds a
            guard word (negation, question without a request opener, conditional, deferral,
            past-time word, business object), or the lexicon explained every word of it
            (fillers, anti-examples: "gracias", "ok"): the model is then not heard.
        social: Intents with priority <= 0 (greet): the model never proposes them.
        guarded: Intents the guards apply to (closing ones and ``guarded: true`` ones).
        closing: Closing intents.
    """

    vetoed: bool
    social: frozenset[str]
    guarded: frozenset[str]
    closing: frozenset[str]


def fuse(lexical: IntentResult, guess: Guess, view: LexiconView, fusion: Fusion) -> IntentResult:
    """The lexicon's result, changed by the model only where the lexicon is unsure.

    - The lexicon acted (an intent passed its threshold): kept as it is.
    - The lexicon would ask about a closing intent (``confirm``): it closes without asking
      when the model gives that same intent at least ``close_confirmed``.
    - Nothing passed and nothing is asked: a closing intent the model gives at least
      ``ask_closing`` is asked about (``confirm``), never closed; a non-closing author
      intent at ``author`` or more is acted on. Never when a guard vetoed or a guard word
      is present (for guarded intents), never a greeting.
    """
    if lexical.intent != NONE_INTENT or view.vetoed or guess.known < fusion.min_known:
        return lexical
    intent, probability = guess.intent, guess.probability
    if lexical.confirm is not None:
        if intent == lexical.confirm and probability >= fusion.close_confirmed:
            confidence = round(probability, 4)
            return replace(
                lexical,
                intent=intent,
                confidence=confidence,
                ranked=((intent, confidence), *lexical.ranked),
                confirm=None,
            )
        return lexical
    if intent == NONE_INTENT or intent in view.social:
        return lexical
    if intent in view.closing:
        if intent in CONFIRMABLE and probability >= fusion.ask_closing:
            return replace(lexical, confirm=intent)
        return lexical
    if probability >= fusion.author:
        confidence = round(probability, 4)
        return replace(
            lexical, intent=intent, confidence=confidence, ranked=((intent, confidence),)
        )
    return lexical
