"""Intent classification for chat messages (Spanish and English out of the box).

Usage::

    classifier = IntentClassifier.from_directory(Path("intents"))
    result = classifier.classify("gracias, adiós!", lang="es")
    # IntentResult(intent="goodbye", confidence=1.0, lang="es")

Intent data lives in ``intents/<lang>.yaml`` (format in :mod:`bot.intents.data`);
``classifier.explain(text)`` says why (:mod:`bot.intents.explain`), and
:mod:`bot.intents.evaluation` measures it on labelled messages (``bot eval``). See
``docs/intents.md``.
"""

from bot.intents.classifier import DEFAULT_THRESHOLD, IntentClassifier
from bot.intents.config import ScoringConfig
from bot.intents.explain import Explanation
from bot.intents.names import INTENT_ALIASES, canonical_intent
from bot.intents.result import (
    CANCEL,
    CLOSING_INTENTS,
    GOODBYE,
    GREET,
    NONE_INTENT,
    IntentResult,
)

__all__ = [
    "CANCEL",
    "CLOSING_INTENTS",
    "DEFAULT_THRESHOLD",
    "GOODBYE",
    "GREET",
    "INTENT_ALIASES",
    "NONE_INTENT",
    "Explanation",
    "IntentClassifier",
    "IntentResult",
    "ScoringConfig",
    "canonical_intent",
]
