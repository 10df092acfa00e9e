"""The semantic layer: nearest examples in a multilingual sentence space, beside the lexicon.

The lexicon (phrases, guards, frames) is precise but knows only the phrasings it lists. This
layer encodes every example of the intent files (:mod:`bot.intents.encoder`, Universal
Sentence Encoder multilingual v3) and answers with the intent of the example nearest to the
message (cosine similarity): "could we just drop this" lies next to "drop it", "olvidate
de todo" next to "forget the whole thing", in any of the encoder's 16 languages, so a new
language works from its YAML file alone. No labelled set is trained on: the intent files
are the only source (``none`` anti-examples included), and tuning data stays tuning data.

Start-up: the examples' vectors are computed once (about 0.26 ms each, a few thousand
examples) and kept in the cache folder under a hash of the texts, labels and encoder
version; a later start with the same files reads them in milliseconds.

Work per message is bounded: the encoder reads the classifier's bounded view, its words cut
to the first and last ones (:mod:`bot.intents.bounds`), at most :data:`MAX_CHARS`
characters; one matrix-vector product over the examples follows. Answers are cached per
normalized text (LRU). The classifier asks only where the lexicon is unsure
(:func:`fuse`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.intents.bounds import bound_sequence, bounded_view
from bot.intents.data import LanguageData
from bot.intents.encoder import SentenceEncoder, model_version
from bot.intents.lemmas import DEFAULT_CACHE_DIR
from bot.intents.normalize import prepare
from bot.intents.result import CANCEL, GOODBYE, NONE_INTENT, IntentResult

MAX_PER_INTENT = 600
"""Most expanded examples of one intent and language encoded (every k-th one, in file
order): the ``(a|b|)`` expansions of a few long entries would otherwise outweigh the rest and
cost start-up time and memory (a vector is 2 kB)."""
MAX_CHARS = 160
"""Characters of the normalized text given to the encoder (its cost grows with the text)."""
MIN_CAUTIOUS_WORDS = 3
"""Fewest words of a message with a guard word that the layer may act on."""
MIN_WORDS = 2
"""Fewest words of any message the layer may act on: one word is the lexicon's (its typos,
shorthand, languages); a sentence encoder finds a neighbour for any single word ("todo"
lies next to "eso es todo", a goodbye)."""
_CACHE_FORMAT = 1

CONFIRMABLE: frozenset[str] = frozenset({GOODBYE, CANCEL})
"""Closing intents the engine can ask about (``IntentResult.confirm``)."""


@dataclass(frozen=True, slots=True)
class Example:
    """One training text and its label (a canonical intent name or ``"none"``)."""

    text: str
    label: str


def examples_from_files(languages: Iterable[LanguageData]) -> list[Example]:
    """Examples from the intent files: each intent's expanded examples (at most
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


def encoder_text(text: str) -> str:
    """What the encoder reads of a message: NFKC, lowercase, letter runs cut to two
    (:func:`~bot.intents.normalize.prepare`), whitespace collapsed, bounded (the view's words
    cut to the first and last ones, at most :data:`MAX_CHARS` characters). Also the cache
    key: "Cancel!!" and "cancel!!" are one entry."""
    words = bound_sequence(prepare(bounded_view(text)).split())
    return " ".join(words)[:MAX_CHARS]


@dataclass(frozen=True, slots=True)
class Guess:
    """The layer's answer for one text.

    Attributes:
        intent: Label of the nearest example (``"none"`` included).
        similarity: Its cosine similarity to the text, in ``[-1, 1]``.
        agreeing: How many of the :attr:`SemanticModel.NEIGHBOURS` nearest examples carry
            that same label.
        example: The nearest example's text (for explanations).
        words: Words of the text the encoder read.
    """

    intent: str
    similarity: float
    agreeing: int
    example: str
    words: int = 0


class SemanticModel:
    """Nearest-example classifier over sentence vectors.

    Args:
        encoder: Turns texts into unit vectors.
        examples: The labelled examples, in the order of ``vectors``' rows.
        vectors: ``(len(examples), DIMENSIONS)`` float32 unit vectors.
        cache_size: Guesses kept per normalized text (LRU; 0 turns the cache off).
    """

    NEIGHBOURS = 3

    def __init__(
        self,
        encoder: SentenceEncoder,
        examples: Sequence[Example],
        vectors: npt.NDArray[np.float32],
        cache_size: int = 10_000,
    ) -> None:
        if vectors.shape[0] != len(examples) or not examples:
            raise ValueError(f"{vectors.shape[0]} vectors for {len(examples)} examples")
        self._encoder = encoder
        self._examples = tuple(examples)
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.labels = tuple(sorted({example.label for example in examples}))
        self._label_of = np.array([self.labels.index(e.label) for e in examples], np.int64)
        self._cached: Callable[[str], Guess] = (
            lru_cache(maxsize=cache_size)(self._guess) if cache_size else self._guess
        )

    @classmethod
    def build(
        cls,
        examples: Sequence[Example],
        encoder: SentenceEncoder | None = None,
        cache_dir: Path | None = None,
        cache_size: int = 10_000,
    ) -> SemanticModel:
        """Encode ``examples`` (or read their vectors from the cache folder, keyed by a hash
        of the texts, labels and encoder version) and build the model.

        Raises:
            ValueError: ``examples`` is empty.
        """
        if not examples:
            raise ValueError("the semantic layer needs examples")
        encoder = encoder or SentenceEncoder(cache_dir)
        key = hashlib.sha256(f"{model_version()}|{_CACHE_FORMAT}".encode())
        for example in examples:
            key.update(f"\0{example.label}\0{example.text}".encode())
        path = (cache_dir or DEFAULT_CACHE_DIR) / f"semantic-{key.hexdigest()[:16]}.npy"
        vectors = None
        with contextlib.suppress(OSError, ValueError):
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape != (len(examples), vectors.shape[1]) or vectors.ndim != 2:
                vectors = None
        if vectors is None:
            # stored as float16 (half the file); rounded the same way when fresh, so a
            # cached start and a fresh one answer alike
            vectors = encoder.encode([encoder_text(e.text) for e in examples]).astype(np.float16)
            with contextlib.suppress(OSError):
                _save(path, vectors)
        encoder.load()  # at start-up, not on the first message
        return cls(encoder, examples, vectors.astype(np.float32), cache_size)

    def guess(self, text: str) -> Guess:
        """The nearest example's label for ``text`` (any length; cached per normalized text)."""
        return self._cached(encoder_text(text))

    def _guess(self, key: str) -> Guess:
        if not key:
            return Guess(NONE_INTENT, 0.0, 0, "")
        similarities = self._vectors @ self._encoder.encode([key])[0]
        nearest = np.argpartition(-similarities, self.NEIGHBOURS)[: self.NEIGHBOURS]
        best = int(nearest[np.argmax(similarities[nearest])])
        label = self._label_of[best]
        return Guess(
            self.labels[label],
            float(similarities[best]),
            int((self._label_of[nearest] == label).sum()),
            self._examples[best].text,
            len(key.split()),
        )


def _save(path: Path, vectors: npt.NDArray[np.float16]) -> None:
    """Write ``vectors`` atomically (a concurrent reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.save(file, vectors)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass(frozen=True, slots=True)
class Fusion:
    """When the layer's answer counts (cosine similarities of the nearest example).

    Attributes:
        act: The lexicon found nothing sure: the nearest example's intent is acted on
            (closing ones included) at this similarity or more.
        ask: A closing intent (goodbye, cancel) between ``ask`` and ``act`` is asked about
            (``confirm``) when every one of the nearest examples agrees.
        confirmed: The lexicon would ask about a closing intent: it closes without asking
            when the nearest example is of that intent at this similarity or more.
        cautious: A message with a negation, deferral or past-time word that vetoed nothing
            ("I don't want to continue"): acted on at this similarity or more, never asked
            about (the encoder hardly tells "cancel" from "don't cancel"; the examples that
            hold such words do).
    """

    act: float = 0.88
    ask: float = 0.8
    confirmed: float = 0.75
    cautious: float = 0.92


@dataclass(frozen=True, slots=True)
class LexiconView:
    """What the lexicon saw in a message, for :func:`fuse`.

    Attributes:
        vetoed: True when a guard vetoed an intent in the message, the message holds a
            guard word (negation, question without a request opener, conditional, deferral,
            past-time word, business object), or the lexicon explained every word of it
            (fillers, anti-examples: "gracias", "ok"): the layer is then not heard.
        closing: Closing intents.
        cautious: True when a negation, deferral or past-time word is present but vetoed
            nothing: only a near-identical example counts (``Fusion.cautious``).
    """

    vetoed: bool
    closing: frozenset[str]
    cautious: bool = False


def fuse(lexical: IntentResult, guess: Guess, view: LexiconView, fusion: Fusion) -> IntentResult:
    """The lexicon's result, changed by the layer only where the lexicon is unsure.

    - The lexicon acted (an intent passed its threshold), or a guard vetoed: kept as it is.
    - A negation, deferral or past-time word that vetoed nothing: acted on only at
      ``cautious`` or more.
    - The lexicon would ask about a closing intent (``confirm``): it closes without asking
      when the nearest example is of that intent at ``confirmed`` or more.
    - Nothing passed and nothing is asked: the nearest example's intent is acted on at
      ``act`` or more; a closing one the engine can ask about is asked about between
      ``ask`` and ``act`` when the nearest examples agree.
    """
    if lexical.intent != NONE_INTENT or view.vetoed:
        return lexical
    intent, similarity = guess.intent, guess.similarity
    if lexical.confirm is not None:
        if intent == lexical.confirm and similarity >= fusion.confirmed:
            return _acted(lexical, intent, similarity)
        return lexical
    if intent == NONE_INTENT:
        return lexical
    if view.cautious:  # and never a lone guard word with a word or two ("no", "ya no")
        sure = similarity >= fusion.cautious and guess.words >= MIN_CAUTIOUS_WORDS
        return _acted(lexical, intent, similarity) if sure else lexical
    if similarity >= fusion.act:
        return _acted(lexical, intent, similarity)
    if (
        intent in view.closing
        and intent in CONFIRMABLE
        and similarity >= fusion.ask
        and guess.agreeing == SemanticModel.NEIGHBOURS
    ):
        return replace(lexical, confirm=intent)
    return lexical


def _acted(lexical: IntentResult, intent: str, similarity: float) -> IntentResult:
    confidence = round(min(max(similarity, 0.0), 1.0), 4)
    return replace(
        lexical, intent=intent, confidence=confidence, ranked=((intent, confidence),), confirm=None
    )
