"""What the semantic layer's head trains on: examples from the intent files and the labelled
sets, each with its weight in the loss, and the key that names the head they train.

The head (:mod:`bot.intents.head`) learns one label per text, ``none`` included, from every
example and keyword of the intent files (at most :data:`MAX_PER_INTENT` per intent and
language) and the labelled sets named in ``config.yaml`` (``intents.training``), a message
weighing :data:`MESSAGE_WEIGHT` file examples.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.intents.data import LanguageData
from bot.intents.encoder import model_version
from bot.intents.head import TrainingSettings
from bot.intents.labelled import LabelledMessage, load_labelled

log = logging.getLogger(__name__)

CACHE_FORMAT = 3
"""Bumped when the layout of a cached head or of the examples' vectors changes (old files are
then never read)."""
MAX_PER_INTENT = 600
"""Most expanded examples of one intent and language trained on (every k-th one, in file
order): the ``(a|b|)`` expansions of a few long entries would otherwise outweigh the rest and
cost start-up time (a vector is 2 kB)."""

MESSAGE_WEIGHT = 3.0
"""Weight of one labelled message in training against one file example of an intent with
as many examples as the average (real messages are rarer and worth more)."""


@dataclass(frozen=True, slots=True)
class Example:
    """One training text, its label (a canonical intent name or ``"none"``) and its weight
    in the loss (``0`` = the default for its source, see :func:`training_weights`)."""

    text: str
    label: str
    weight: float = 0.0


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


def examples_from_messages(messages: Iterable[LabelledMessage]) -> list[Example]:
    """Labelled messages as training examples of weight :data:`MESSAGE_WEIGHT`."""
    return [Example(m.text, m.intent, MESSAGE_WEIGHT) for m in messages]


def training_weights(examples: Sequence[Example]) -> npt.NDArray[np.float64]:
    """Each example's weight: its own when set, else (a file example) ``1 / sqrt(n)`` for a
    label with ``n`` file examples, scaled to mean 1 over file examples (so an intent with
    many expansions does not drown the others, nor one with few vanish)."""
    counts = Counter(e.label for e in examples if not e.weight)
    raw = {label: count**-0.5 for label, count in counts.items()}
    total = sum(counts.values())
    scale = total / sum(raw[label] * count for label, count in counts.items()) if total else 1.0
    return np.array([e.weight or raw[e.label] * scale for e in examples], dtype=np.float64)


def head_key(
    examples: Sequence[Example], weights: npt.NDArray[np.float64], settings: TrainingSettings
) -> str:
    """SHA-256 (hex) naming the head trained on ``examples`` at ``weights`` (one per example,
    :func:`training_weights`) with ``settings``, by this encoder version: the cache of
    :meth:`~bot.intents.semantic.SemanticModel.build` and ``bench.intents_cv``'s saved heads."""
    key = hashlib.sha256(f"{model_version()}|{CACHE_FORMAT}|{settings}".encode())
    for example, weight in zip(examples, weights, strict=True):
        key.update(f"\0{example.label}\0{weight:.6g}\0{example.text}".encode())
    return key.hexdigest()


def labelled_examples(paths: Sequence[Path]) -> list[Example]:
    """The training examples of the labelled sets at ``paths`` (``config.yaml``
    ``intents.training``); a missing set is skipped and logged at INFO."""
    examples: list[Example] = []
    for path in paths:
        if not Path(path).is_file():
            log.info("intent training set %s not found: skipped", path)
            continue
        examples += examples_from_messages(load_labelled(Path(path)))
    return examples
