"""Built language models kept on disk between starts.

Building the lexicon of three languages reads their intent files (ruamel's round-trip loader,
for line numbers) and runs about 26,000 phrases through the tokenizer and the lemma table:
about 2 s of every start on a slow core. :func:`load_models` keeps what that builds (the
validated :class:`~bot.intents.data.LanguageData` and each
:class:`~bot.intents.model.LanguageModel`) in one pickle in the cache folder, named by a
SHA-256 of everything it was built from: the intent files' bytes, the languages, the scoring
parameters, the source of ``bot/intents/``, and the Python and spaCy versions. Any edit of a
file or of the code names another pickle, so a stale one is never read; a pickle that cannot
be read is rebuilt. Loading one costs the three spaCy tokenizers (about 0.1 s each) and the
unpickling (about 0.1 s).

The cache folder is the service's own (``Settings.cache_dir``), as trusted as its code: a
pickle runs code when loaded, so the folder must not be writable by others.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

from bot.intents.cachefile import keep_newest, write_atomically
from bot.intents.config import ScoringConfig
from bot.intents.data import LanguageData, load_language_file
from bot.intents.lemmas import DEFAULT_CACHE_DIR
from bot.intents.model import LanguageModel

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Bumped when the pickle's layout changes outside ``bot/intents/`` (old files are ignored)."""

KEEP = 8
"""Pickles kept in the cache folder (the most recently written); older ones are deleted."""

_CODE = Path(__file__).resolve().parent
"""The package whose source is part of the key."""


class Built(NamedTuple):
    """What :func:`load_models` gives."""

    files: list[LanguageData]
    """The validated files, in the order of the languages."""
    models: dict[str, LanguageModel]
    """Language code → its model."""
    key: str | None
    """:func:`models_key` of what they were built from (``None``: a file appeared while
    loading); the semantic layer's head is indexed under it (:mod:`bot.intents.head_index`)."""


def load_models(
    directory: Path, languages: Sequence[str], config: ScoringConfig, cache_dir: Path | None
) -> Built:
    """The files ``directory/<lang>.yaml``, their built models and the key naming them, from
    the cache when it holds them, else built (and cached).

    Args:
        directory: Folder with the intent files.
        languages: Language codes, in order.
        config: Matching and scoring parameters.
        cache_dir: The cache folder (default: :data:`~bot.intents.lemmas.DEFAULT_CACHE_DIR`).

    Raises:
        DataFileError: A file is missing or invalid (``path:line``); nothing is cached.
    """
    paths = [Path(directory) / f"{code}.yaml" for code in languages]
    folder = cache_dir or DEFAULT_CACHE_DIR
    try:
        key = models_key(paths, languages, config)
    except OSError:  # a file is missing: the loader names it
        key = None
    target = folder / f"models-{key}.pickle"
    if key is not None and target.is_file():
        try:
            with target.open("rb") as stream:  # streamed: no copy of the whole file in memory
                files, models = pickle.load(stream)  # noqa: S301 - our own cache folder
            return Built(files, models, key)
        except Exception as error:  # a damaged or truncated file is rebuilt
            log.warning("intent models cache %s unreadable (%s): rebuilt", target, error)
    files = [load_language_file(path, code) for path, code in zip(paths, languages, strict=True)]
    models = {data.language: LanguageModel(data, config, cache_dir) for data in files}
    if key is not None:
        _save(target, pickle.dumps((files, models), protocol=pickle.HIGHEST_PROTOCOL))
    return Built(files, models, key)


def models_key(paths: Sequence[Path], languages: Sequence[str], config: ScoringConfig) -> str:
    """SHA-256 (hex, 32 characters) of what the models are built from: the intent files
    ``paths`` of ``languages``, ``config``, the source of ``bot/intents/``, the Python and
    spaCy versions. Raises ``OSError`` for a missing file."""
    digest = hashlib.sha256()
    parts = [str(CACHE_FORMAT), sys.version, version("spacy"), ",".join(languages), repr(config)]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in paths:
        digest.update(path.read_bytes() + b"\0")
    for source in sorted(_CODE.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _save(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (a temporary file renamed), then delete all
    but the :data:`KEEP` newest pickles; a cache that cannot be written is only logged."""
    try:
        write_atomically(target, lambda temporary: temporary.write_bytes(data))
    except OSError as error:
        log.warning("intent models cache %s not written: %s", target, error)
        return
    keep_newest(target.parent, "models-*.pickle", KEEP)
