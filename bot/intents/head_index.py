"""Finding the trained head at start-up without reading the examples it was trained on.

:meth:`~bot.intents.semantic.SemanticModel.build` names a cached head by the examples it
trains on (each text, label and weight), so finding it means reading every example: the
intent files' and the labelled sets' (about 30,000 and 0.3 s of a start on a slow core).
This index names the head by what those examples are read from instead: the built language
models' key (:func:`~bot.intents.prebuilt.models_key`: the intent files, the languages,
the scoring parameters and the source of ``bot/intents/``), each training set's file name
and bytes, the encoder's version and the training settings. A start whose fingerprint is
indexed loads the head the index names; an edit of any of those gives another fingerprint,
and that start reads the examples as before and indexes the head it finds or trains.

Index entries are small text files in the cache folder, ``semantic-index-<fingerprint>.txt``,
holding the head's file name; the :data:`KEEP` newest are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from pathlib import Path

from bot.intents.cachefile import keep_newest, write_atomically
from bot.intents.encoder import model_version
from bot.intents.head import IntentHead, TrainingSettings

INDEX_FORMAT = 1
"""Bumped when what a fingerprint covers changes (old entries are then never matched)."""
KEEP = 16
"""Index entries kept in the cache folder (the most recently written)."""


def fingerprint(
    models_key: str, training_sets: Sequence[Path], settings: TrainingSettings
) -> str | None:
    """SHA-256 (hex, 32 characters) of what the head's examples are read from, or ``None``
    when a training set cannot be read (the caller reads the examples, and says which)."""
    parts = f"{INDEX_FORMAT}|{models_key}|{model_version()}|{settings}"
    digest = hashlib.sha256(parts.encode())
    try:
        for path in training_sets:
            digest.update(b"\0" + Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:32]


def recall(folder: Path, stamp: str) -> IntentHead | None:
    """The head indexed under ``stamp``, or ``None``: not indexed, or its file is gone or
    damaged (the caller then builds the head from the examples)."""
    try:
        name = (folder / f"semantic-index-{stamp}.txt").read_text(encoding="utf-8").strip()
        if not name or Path(name).name != name:
            return None  # only a file of the cache folder itself
        return IntentHead.load(folder / name)
    except (OSError, ValueError):
        return None


def remember(folder: Path, stamp: str, head_path: Path) -> None:
    """Index ``head_path`` (a file of ``folder``) under ``stamp``, then delete all but the
    :data:`KEEP` newest entries; a cache that cannot be written is left as it is."""
    entry = folder / f"semantic-index-{stamp}.txt"
    with contextlib.suppress(OSError):
        write_atomically(entry, lambda target: target.write_text(head_path.name, "utf-8"))
    keep_newest(folder, "semantic-index-*.txt", KEEP)
