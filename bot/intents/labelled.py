"""Labelled messages: the JSON Lines files ``bot eval`` scores and the learned layer trains on.

One JSON object per line: ``{"text": "chau, gracias!", "intent": "goodbye", "lang": "es",
"tags": ["mixed"], "also": ["greet"]}`` (``tags`` and ``also`` optional; ``#`` lines are
comments). See ``docs/intents.md`` ("Evaluation") for the labelling rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import DataFileError
from bot.intents.names import canonical_intent, is_valid_intent_name
from bot.intents.result import NONE_INTENT

_KEYS = frozenset({"text", "intent", "lang", "tags", "also"})
_LANG_RE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """One line of an evaluation file.

    Attributes:
        text: The message as a user would send it.
        intent: The expected canonical intent, or ``"none"``.
        lang: The language the message is written in (ISO 639-1, e.g. ``"es"``).
        tags: Free labels (``"typo"``, ``"negation"``...) to break results down.
        line: 1-based line in the file.
        also: The message's other intents (canonical names), when it has several.
    """

    text: str
    intent: str
    lang: str
    tags: tuple[str, ...] = ()
    line: int = 0
    also: tuple[str, ...] = ()


def load_labelled(path: Path) -> list[LabelledMessage]:
    """Read a JSON Lines evaluation file.

    Raises:
        DataFileError: The file cannot be read, a line is not a JSON object, a required key
            is missing or has the wrong type, or a key is unknown; ``path:line:column``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(str(path), None, f"cannot read file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(str(path), None, "file is not valid UTF-8") from exc
    messages = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() and not raw.lstrip().startswith("#"):
            messages.append(_parse_line(str(path), number, raw))
    if not messages:
        raise DataFileError(str(path), None, "no labelled messages")
    return messages


def _parse_line(path: str, number: int, raw: str) -> LabelledMessage:
    def error(problem: str, column: int = 1) -> DataFileError:
        return DataFileError(path, number, problem, column)

    try:
        item: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise error(f"invalid JSON: {exc.msg}", exc.colno) from exc
    if not isinstance(item, dict):
        raise error('each line must be an object like {"text": ..., "intent": ..., "lang": ...}')
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise error(f"unknown key {unknown[0]!r} (allowed: also, intent, lang, tags, text)")
    for key in ("text", "intent", "lang"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise error(f"{key!r} must be a non-empty text")
    intent = canonical_intent(item["intent"])
    if intent != NONE_INTENT and not is_valid_intent_name(intent):
        raise error(f"invalid intent name {item['intent']!r}")
    lang = item["lang"].strip().lower()
    if not _LANG_RE.fullmatch(lang):
        raise error(f"'lang' must be a language code like 'es', got {item['lang']!r}")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise error("'tags' must be a list of texts")
    also = item.get("also", [])
    if not isinstance(also, list) or not all(isinstance(name, str) for name in also):
        raise error("'also' must be a list of intent names")
    others = tuple(canonical_intent(name) for name in also)
    for name in others:
        if not is_valid_intent_name(name) or name in (NONE_INTENT, intent):
            raise error(f"invalid intent name in 'also': {name!r}")
    return LabelledMessage(item["text"], intent, lang, tuple(tags), number, others)
